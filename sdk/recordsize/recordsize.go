// Package recordsize owns max_record_bytes, the cap on the size of one
// record that a connector reads from data it does not control (a line of
// a csv or jsonl file, a csv record spanning lines, an HTTP response
// body): its default and bounds, how the key is read and how a record
// over the cap is reported, so that every connector words them alike.
//
// The cap bounds memory on hostile or broken input. Without it, a file
// holding one 1 GiB line made a reader hold the line, then a copy of it
// as a string, then its Arrow column, several GB in all. With it, the
// reader fails as soon as the record passes the cap, having held at most
// about the cap: it must never read a whole record first and measure it
// afterwards.
//
// A connector takes the key with [Parse] and reports a record over the
// cap with [Error], which is PERMANENT (the same bytes would fail again):
//
//	file "data/big.csv", line 2: the record is larger than max_record_bytes (64 MiB); raise max_record_bytes (at most 1073741824, 1 GiB) if records this large are expected
package recordsize

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Key is the configuration key.
const Key = "max_record_bytes"

// Default, Min and Max bound the cap. The default, 64 MiB, is far above
// any sane record and a fraction of a plugin's memory; Max, 1 GiB, is
// where a record could no longer become one page (the protocol caps a
// message at 256 MiB, and a record's Arrow form is not smaller than its
// text); Min, 1 KiB, keeps a typo (max_record_bytes: 64) from refusing
// every record.
const (
	Default int64 = 64 << 20
	Min     int64 = 1 << 10
	Max     int64 = 1 << 30
)

// MaxFields caps the fields of one csv record. A record of delimiters
// alone (",,,,") costs a reader tens of bytes of bookkeeping per byte of
// input, so the byte cap alone would let a record within it take many
// times its size in memory. 1,048,576 fields is far more columns than any
// table has (wide genomics matrices have tens of thousands) and bounds the
// bookkeeping at a few tens of MiB.
const MaxFields = 1 << 20

// Parse reads the key's value: an integer number of bytes from Min to Max.
// A missing value (nil) is Default. On a bad value it returns a message
// for a field error on Key.
func Parse(raw json.RawMessage) (int64, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Default, ""
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || string(raw) == "null" {
		return Default, fmt.Sprintf("must be an integer number of bytes from %d (1 KiB) to %d (1 GiB), got %s", Min, Max, raw)
	}
	if n < Min || n > Max {
		return Default, fmt.Sprintf("must be from %d (1 KiB) to %d (1 GiB) bytes, got %d", Min, Max, n)
	}
	return n, ""
}

// Error reports a record larger than limit, at where (a file and line,
// an object and line, a request and page: "file \"a.csv\", line 2"). It
// is PERMANENT.
func Error(where string, limit int64) error {
	return errclass.Permanentf("%s: the record is larger than %s (%s); %s", where, Key, Format(limit), Advice(limit))
}

// FieldsError reports a csv record of more than MaxFields fields at where.
// It is PERMANENT.
func FieldsError(where string) error {
	return errclass.Permanentf("%s: the record has more than %d fields, more than any table has columns; the file is probably not csv with this delimiter", where, MaxFields)
}

// Advice tells how to raise the cap, for messages that word the excess
// themselves.
func Advice(limit int64) string {
	if limit >= Max {
		return fmt.Sprintf("records this large cannot be read (%s is at its maximum, 1 GiB)", Key)
	}
	return fmt.Sprintf("raise %s (at most %d, 1 GiB) if records this large are expected", Key, Max)
}

// Format writes a byte count for people: "64 MiB", "1.5 KiB", "900 bytes".
func Format(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<20:
		return fmt.Sprintf("%d bytes, %.1f MiB", n, float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d bytes, %.1f KiB", n, float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
