package sheetsconn

import (
	"github.com/sqlflow/sqlflow-host/sdk/coltype"

	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// defaultMaxBytes caps a page's Arrow data when the host sets no cap:
// about 8 MiB, the protocol's default page size.
const defaultMaxBytes = 8 << 20

// cursorFilter selects rows whose cursor column (col) is past the stored
// bound and tracks the greatest value seen.
type cursorFilter struct {
	col int
	*coltype.Cursor
}

func (s session) newFilter(req sdk.ReadRequest, cp checkpoint) (*cursorFilter, error) {
	if req.CursorField == "" {
		return nil, nil
	}
	l := cp.Layout
	col := -1
	for i, n := range l.Names {
		if n == req.CursorField {
			col = i
		}
	}
	if col < 0 {
		return nil, errclass.Permanentf("incremental cursor field %q is not a column of sheet %q; its columns are %s", req.CursorField, l.Sheet, quoteList(l.Names))
	}
	t := l.Types[col]
	bound, bounded, err := parseCursor(t, req.CursorValue)
	if err != nil {
		return nil, errclass.Permanentf("sheet %q, incremental cursor %q: %v", l.Sheet, req.CursorField, err)
	}
	max, hasMax, err := parseCursor(t, cp.Max)
	if err != nil {
		return nil, errclass.Permanentf("sheet %q: bad cursor in checkpoint: %v", l.Sheet, err)
	}
	return &cursorFilter{col: col, Cursor: coltype.NewCursor(t, bound, bounded, max, hasMax)}, nil
}

// readPage reads the page at cp. A stream without columns (an empty
// sheet or range: no header, no data) is one done page without records,
// also for an incremental read (there is no column to check the cursor
// field against, and the stored cursor stays).
func (s session) readPage(ctx context.Context, req sdk.ReadRequest, cp checkpoint) (sdk.Page, error) {
	l := cp.Layout
	if len(l.Names) == 0 {
		cp.Row = max(cp.Row, l.LastRow+1)
		data, err := json.Marshal(cp)
		if err != nil {
			return sdk.Page{}, err
		}
		return sdk.Page{Done: true, Checkpoint: data}, nil
	}
	filter, err := s.newFilter(req, cp)
	if err != nil {
		return sdk.Page{}, err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, l.schema())
	defer b.Release()
	finish := func(next int64) (sdk.Page, error) {
		out := cp
		out.Row = next
		page := sdk.Page{Records: b.NewRecordBatch(), Done: next > l.LastRow}
		if filter != nil {
			if j := filter.JSON(); j != nil {
				out.Max, page.CursorValue = j, j
			}
		}
		data, err := json.Marshal(out)
		if err != nil {
			page.Records.Release()
			return sdk.Page{}, err
		}
		page.Checkpoint = data
		return page, nil
	}
	if cp.Row > l.LastRow {
		return finish(cp.Row)
	}

	n := s.cfg.PageSize
	if req.MaxRows > 0 && req.MaxRows < n {
		n = req.MaxRows
	}
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	end := min(cp.Row+n-1, l.LastRow)
	rng := a1(l.Sheet, l.FirstCol, l.LastCol, cp.Row, end)
	vr, err := s.svc.Spreadsheets.Values.Get(s.cfg.SpreadsheetID, rng).
		ValueRenderOption("UNFORMATTED_VALUE").
		DateTimeRenderOption("SERIAL_NUMBER").
		MajorDimension("ROWS").
		Context(ctx).Do()
	if err != nil {
		return sdk.Page{}, s.apiError(ctx, err, call{op: "read " + rng + " of spreadsheet " + s.cfg.SpreadsheetID, sheet: l.Sheet, rng: rng})
	}
	s.c.quota.success()
	if int64(len(vr.Values)) > end-cp.Row+1 {
		return sdk.Page{}, errclass.Permanentf("read %s of spreadsheet %s: the API answered %d rows for a range of %d", rng, s.cfg.SpreadsheetID, len(vr.Values), end-cp.Row+1)
	}

	width := len(l.Names)
	cells := make([]coltype.Value, width)
	nulls := make([]bool, width)
	var size, rows, formulaErrs int64
	firstErr := ""
	next := end + 1
	for i, row := range vr.Values {
		rowNum := cp.Row + int64(i)
		if rows > 0 && size >= maxBytes {
			next = rowNum
			break
		}
		empty := true
		var rowSize int64
		for j := range width {
			var v any
			if j < len(row) {
				v = row[j]
			}
			nulls[j] = isNull(v)
			if !nulls[j] && l.Types[j] != coltype.String && isFormulaError(v) {
				nulls[j] = true
				formulaErrs++
				if firstErr == "" {
					firstErr = fmt.Sprintf("%s%d %s", colLetters(l.FirstCol+j), rowNum, v)
				}
			}
			if nulls[j] {
				rowSize++
				continue
			}
			empty = false
			cv, err := convert(l.Types[j], v, l.loc)
			if err != nil {
				return sdk.Page{}, errclass.Permanentf("sheet %q, cell %s%d (column %q): %w; the column's type is %s (from columns, or inferred from the first rows): set columns: {%q: string} to read it as text",
					l.Sheet, colLetters(l.FirstCol+j), rowNum, l.Names[j], err, l.Types[j], l.Names[j])
			}
			cells[j] = cv
			rowSize += coltype.Size(l.Types[j], cv) + 1
		}
		if empty {
			continue // a blank row is no record
		}
		if filter != nil {
			if nulls[filter.col] {
				continue
			}
			if !filter.Keep(cells[filter.col]) {
				continue
			}
		}
		for j := range width {
			if nulls[j] {
				b.Field(j).AppendNull()
			} else {
				coltype.Append(b.Field(j), l.Types[j], cells[j])
			}
		}
		rows++
		size += rowSize
	}
	if formulaErrs > 0 {
		s.c.logger.Warn("cells with formula errors read as null", "sheet", l.Sheet, "range", rng, "cells", formulaErrs, "first", firstErr)
	}
	return finish(next)
}
