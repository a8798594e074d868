package sheetsconn

import (
	"fmt"
	"strconv"
	"strings"
)

// maxColumns is the widest a sheet can be (column ZZZ is 18,278): it
// bounds column letters.
const maxColumns = 18278

// maxRows bounds row numbers: a spreadsheet holds at most 10 million
// cells, so no sheet has more rows than that.
const maxRows = 10_000_000

// a1Range is a rectangle of a sheet as the range key gives it. Columns
// are 0-based (A is 0), rows 1-based as in A1 notation; EndCol -1 and
// EndRow 0 mean "to the sheet's edge".
type a1Range struct {
	StartCol, EndCol int
	StartRow, EndRow int64
}

// String renders r without a sheet name, e.g. "B3:H500" or "A1:F".
func (r a1Range) String() string {
	s := colLetters(r.StartCol) + strconv.FormatInt(r.StartRow, 10) + ":"
	if r.EndCol >= 0 {
		s += colLetters(r.EndCol)
	} else {
		s += "ZZZ"
	}
	if r.EndRow > 0 {
		s += strconv.FormatInt(r.EndRow, 10)
	}
	return s
}

// parseA1Range parses the range key: "A1:F", "B3:H500", "A:F", "2:500",
// "C5" (from C5 on) or any of these after a sheet name ("Sheet1!A1:F",
// "'My sheet'!A:F"), which it returns apart.
func parseA1Range(s string) (a1Range, string, error) {
	sheet := ""
	if i := strings.LastIndexByte(s, '!'); i >= 0 {
		sheet, s = s[:i], s[i+1:]
		if len(sheet) >= 2 && sheet[0] == '\'' && sheet[len(sheet)-1] == '\'' {
			sheet = strings.ReplaceAll(sheet[1:len(sheet)-1], "''", "'")
		}
		if sheet == "" {
			return a1Range{}, "", fmt.Errorf("%q has an empty sheet name before '!'", s)
		}
	}
	r := a1Range{EndCol: -1, StartRow: 1}
	start, end, hasEnd := strings.Cut(s, ":")
	sc, sr, err := parseCellRef(start)
	if err != nil {
		return r, "", fmt.Errorf("range %q: %v; write A1 notation such as A1:F or B3:H500", s, err)
	}
	if sc >= 0 {
		r.StartCol = sc
	}
	if sr > 0 {
		r.StartRow = sr
	}
	if hasEnd {
		ec, er, err := parseCellRef(end)
		if err != nil {
			return r, "", fmt.Errorf("range %q: %v; write A1 notation such as A1:F or B3:H500", s, err)
		}
		r.EndCol, r.EndRow = ec, er
		if (sc < 0) != (ec < 0) && sr == 0 {
			return r, "", fmt.Errorf("range %q mixes a column range and a row range", s)
		}
	}
	if r.EndCol >= 0 && r.EndCol < r.StartCol {
		return r, "", fmt.Errorf("range %q ends at column %s, before its start column %s", s, colLetters(r.EndCol), colLetters(r.StartCol))
	}
	if r.EndRow > 0 && r.EndRow < r.StartRow {
		return r, "", fmt.Errorf("range %q ends at row %d, before its start row %d", s, r.EndRow, r.StartRow)
	}
	return r, sheet, nil
}

// parseCellRef parses "B3", "B" or "3": a 0-based column (-1 when
// absent) and a row (0 when absent).
func parseCellRef(s string) (int, int64, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "$", ""))
	i := 0
	for i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		i++
	}
	letters, digits := s[:i], s[i:]
	if letters == "" && digits == "" {
		return 0, 0, fmt.Errorf("empty cell reference")
	}
	col := -1
	if letters != "" {
		n := 0
		for _, c := range letters {
			n = n*26 + int(c-'A'+1)
			if n > maxColumns {
				return 0, 0, fmt.Errorf("column %s is beyond the last column ZZZ", letters)
			}
		}
		col = n - 1
	}
	var row int64
	if digits != "" {
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || n < 1 || n > maxRows {
			return 0, 0, fmt.Errorf("%q is not a cell reference (row numbers start at 1)", s)
		}
		row = n
	}
	return col, row, nil
}

// colLetters renders a 0-based column index as letters: 0 → A, 26 → AA.
func colLetters(c int) string {
	var b []byte
	for n := c + 1; n > 0; n = (n - 1) / 26 {
		b = append([]byte{byte('A' + (n-1)%26)}, b...)
	}
	return string(b)
}

// quoteSheet quotes a sheet name for A1 notation: in single quotes, with
// each single quote inside it doubled.
func quoteSheet(name string) string {
	return "'" + strings.ReplaceAll(name, "'", "''") + "'"
}

// a1 renders the rectangle rows [r1, r2] × columns [c1, c2] of sheet in
// A1 notation, e.g. 'Sheet1'!A1001:Z2000.
func a1(sheet string, c1, c2 int, r1, r2 int64) string {
	return fmt.Sprintf("%s!%s%d:%s%d", quoteSheet(sheet), colLetters(c1), r1, colLetters(c2), r2)
}
