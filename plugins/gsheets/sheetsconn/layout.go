package sheetsconn

import (
	"encoding/json"
	"github.com/sqlflow/sqlflow-host/sdk/coltype"

	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"google.golang.org/api/sheets/v4"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// layout is where a stream's data lies and what it holds: the columns and
// rows to read, the column names and types, and the time zone of its
// serial numbers. The first page works it out; every checkpoint carries
// it, so later pages (in any process) read exactly the same columns and
// convert them exactly the same way.
type layout struct {
	Sheet string `json:"sheet"`
	// FirstCol and LastCol are the 0-based columns read (inclusive).
	FirstCol int `json:"first_col"`
	LastCol  int `json:"last_col"`
	// FirstRow is the first data row (after the header), LastRow the last
	// row read: the sheet's last row when the read began, or the range's.
	// LastRow < FirstRow means there is nothing to read.
	FirstRow int64    `json:"first_row"`
	LastRow  int64    `json:"last_row"`
	Names    []string `json:"names"`
	Types    typeList `json:"types"`
	TimeZone string   `json:"tz"`

	loc *time.Location
}

// typeList is a layout's column types, written by name so that
// checkpoints read plainly (["int64","string"]).
type typeList []coltype.Type

// MarshalJSON writes the types by name.
func (l typeList) MarshalJSON() ([]byte, error) {
	names := make([]string, len(l))
	for i, t := range l {
		names[i] = t.String()
	}
	return json.Marshal(names)
}

// UnmarshalJSON reads type names.
func (l *typeList) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	out := make(typeList, len(names))
	for i, n := range names {
		t, ok := coltype.ParseName(n)
		if !ok {
			return fmt.Errorf("unknown column type %q", n)
		}
		out[i] = t
	}
	*l = out
	return nil
}

// check validates a layout read from a checkpoint and loads its time zone.
func (l *layout) check() error {
	if len(l.Names) != len(l.Types) {
		return fmt.Errorf("%d column names but %d types", len(l.Names), len(l.Types))
	}
	if len(l.Names) > 0 && l.LastCol-l.FirstCol+1 != len(l.Names) {
		return fmt.Errorf("columns %s to %s do not match %d names", colLetters(l.FirstCol), colLetters(l.LastCol), len(l.Names))
	}
	loc, err := time.LoadLocation(l.TimeZone)
	if err != nil {
		return fmt.Errorf("time zone %q: %v", l.TimeZone, err)
	}
	l.loc = loc
	return nil
}

// schema is the stream's Arrow schema: every column nullable; nil for a
// layout without columns (an empty sheet or range), whose columns only
// data could tell.
func (l *layout) schema() *arrow.Schema {
	if len(l.Names) == 0 {
		return nil
	}
	fields := make([]arrow.Field, len(l.Names))
	for i, n := range l.Names {
		fields[i] = arrow.Field{Name: n, Type: l.Types[i].Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// probeFields asks spreadsheets.get for the sampled cells' values and
// number format types only.
const probeFields = "sheets(properties(title),data(startRow,startColumn,rowData(values(effectiveValue,effectiveFormat(numberFormat(type))))))"

// rect is the part of a sheet a stream covers, clipped to the grid.
type rect struct {
	sheet          string
	c0, c1         int
	r0, rEnd       int64
	header, sample int64
}

// layouts works out the layout of each of grids (sheets of meta) with one
// spreadsheets.get request that samples them all.
func (s session) layouts(ctx context.Context, meta *sheets.Spreadsheet, grids []*sheets.Sheet) ([]*layout, error) {
	tz := timeZone(meta)
	loc, _ := time.LoadLocation(tz)
	rects := make([]rect, len(grids))
	var ranges []string
	for i, sh := range grids {
		p := sh.Properties
		var rowCount, colCount int64
		if p.GridProperties != nil {
			rowCount, colCount = p.GridProperties.RowCount, p.GridProperties.ColumnCount
		}
		rng := a1Range{EndCol: -1, StartRow: 1}
		if p.Title == s.cfg.SheetName && s.cfg.Range != nil {
			rng = *s.cfg.Range
		}
		r := rect{sheet: p.Title, c0: rng.StartCol, c1: int(colCount) - 1, r0: rng.StartRow, rEnd: rowCount}
		if rng.EndCol >= 0 && rng.EndCol < r.c1 {
			r.c1 = rng.EndCol
		}
		if rng.EndRow > 0 && rng.EndRow < r.rEnd {
			r.rEnd = rng.EndRow
		}
		if s.cfg.HasHeader {
			r.header = 1
		}
		r.sample = min(r.rEnd, r.r0+r.header+s.cfg.SampleRows-1)
		rects[i] = r
		if r.c0 <= r.c1 && r.r0 <= r.rEnd {
			ranges = append(ranges, a1(r.sheet, r.c0, r.c1, r.r0, r.sample))
		}
	}
	samples := map[string][][]sampleCell{}
	if len(ranges) > 0 {
		got, err := s.svc.Spreadsheets.Get(s.cfg.SpreadsheetID).Ranges(ranges...).IncludeGridData(true).Fields(probeFields).Context(ctx).Do()
		if err != nil {
			return nil, s.apiError(ctx, err, call{op: "sample the rows of spreadsheet " + s.cfg.SpreadsheetID, rng: strings.Join(ranges, ", ")})
		}
		s.c.quota.success()
		for _, sh := range got.Sheets {
			if sh.Properties == nil || len(sh.Data) == 0 {
				continue
			}
			samples[sh.Properties.Title] = gridRows(sh.Data[0])
		}
	}
	out := make([]*layout, len(grids))
	for i, r := range rects {
		l, err := s.newLayout(r, samples[r.sheet], tz, loc)
		if err != nil {
			return nil, err
		}
		out[i] = l
	}
	return out, nil
}

// gridRows turns sampled grid data into rows of cells, as values.get
// would give them (UNFORMATTED_VALUE) plus each cell's format type.
func gridRows(g *sheets.GridData) [][]sampleCell {
	rows := make([][]sampleCell, len(g.RowData))
	for i, rd := range g.RowData {
		if rd == nil {
			continue
		}
		cells := make([]sampleCell, len(rd.Values))
		for j, cd := range rd.Values {
			if cd == nil {
				continue
			}
			cells[j].v = extendedValue(cd.EffectiveValue)
			if cd.EffectiveFormat != nil && cd.EffectiveFormat.NumberFormat != nil {
				cells[j].format = cd.EffectiveFormat.NumberFormat.Type
			}
		}
		rows[i] = cells
	}
	return rows
}

// errorTexts are the texts values.get shows for a formula error type.
var errorTexts = map[string]string{
	"ERROR": "#ERROR!", "NULL_VALUE": "#NULL!", "DIVIDE_BY_ZERO": "#DIV/0!", "VALUE": "#VALUE!",
	"REF": "#REF!", "NAME": "#NAME?", "NUM": "#NUM!", "N_A": "#N/A",
}

// extendedValue converts a cell's effective value to what values.get
// sends: a float64, a string or a bool; nil for an empty cell.
func extendedValue(v *sheets.ExtendedValue) any {
	switch {
	case v == nil:
		return nil
	case v.NumberValue != nil:
		return *v.NumberValue
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return *v.BoolValue
	case v.ErrorValue != nil:
		if t, ok := errorTexts[v.ErrorValue.Type]; ok {
			return t
		}
		return "#ERROR!"
	case v.FormulaValue != nil:
		return *v.FormulaValue
	}
	return nil
}

// newLayout names and types the columns of r from its sampled rows.
func (s session) newLayout(r rect, rows [][]sampleCell, tz string, loc *time.Location) (*layout, error) {
	l := &layout{Sheet: r.sheet, FirstCol: r.c0, FirstRow: r.r0 + r.header, LastRow: r.rEnd, TimeZone: tz, loc: loc}
	data := rows
	var header []sampleCell
	if r.header > 0 && len(rows) > 0 {
		header, data = rows[0], rows[1:]
	}
	width := 0
	if r.header > 0 {
		width = trimmedLen(header)
	} else {
		for _, row := range data {
			width = max(width, trimmedLen(row))
		}
	}
	width = min(width, r.c1-r.c0+1)
	l.LastCol = r.c0 + width - 1
	used := map[string]bool{}
	for j := range width {
		name := ""
		if j < len(header) && !isNull(header[j].v) {
			if v, err := convert(coltype.String, header[j].v, loc); err == nil {
				name = strings.TrimSpace(v.S)
			}
		}
		if name == "" {
			name = "column_" + strconv.Itoa(j+1)
		}
		base := name
		for n := 2; used[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
		}
		used[name] = true
		l.Names = append(l.Names, name)
		if t, ok := s.cfg.Types[name]; ok {
			l.Types = append(l.Types, t)
			continue
		}
		cells := make([]sampleCell, 0, len(data))
		for _, row := range data {
			if j < len(row) {
				cells = append(cells, row[j])
			}
		}
		l.Types = append(l.Types, infer(cells, coltype.InferOptions{Decimals: s.cfg.InferDecimals}))
	}
	if r.sheet == s.cfg.SheetName {
		for _, n := range sortedNames(s.cfg.Types) {
			if !used[n] {
				return nil, errclass.Permanentf("columns: sheet %q has no column %q; its columns are %s", r.sheet, n, quoteList(l.Names))
			}
		}
	}
	return l, nil
}

// trimmedLen is the length of row without its trailing empty cells.
func trimmedLen(row []sampleCell) int {
	n := len(row)
	for n > 0 && isNull(row[n-1].v) {
		n--
	}
	return n
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none (the range is empty)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
