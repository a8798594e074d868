package recordsize_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int64
		msg  string
	}{
		{"", recordsize.Default, ""},
		{"1024", 1024, ""},
		{"1073741824", 1 << 30, ""},
		{"67108864", 64 << 20, ""},
		{"1023", recordsize.Default, "must be from 1024 (1 KiB) to 1073741824 (1 GiB) bytes, got 1023"},
		{"1073741825", recordsize.Default, "got 1073741825"},
		{"0", recordsize.Default, "got 0"},
		{"-5", recordsize.Default, "got -5"},
		{"1.5", recordsize.Default, "must be an integer number of bytes"},
		{`"64MiB"`, recordsize.Default, "must be an integer number of bytes"},
		{"null", recordsize.Default, "must be an integer number of bytes"},
	} {
		got, msg := recordsize.Parse(json.RawMessage(tc.raw))
		if got != tc.want || (tc.msg == "") != (msg == "") || !strings.Contains(msg, tc.msg) {
			t.Errorf("Parse(%s) = %d, %q; want %d, %q", tc.raw, got, msg, tc.want, tc.msg)
		}
	}
}

func TestError(t *testing.T) {
	err := recordsize.Error(`file "a.csv", line 7`, 1<<20)
	want := `file "a.csv", line 7: the record is larger than max_record_bytes (1 MiB); raise max_record_bytes (at most 1073741824, 1 GiB) if records this large are expected`
	if errclass.Of(err) != errclass.Permanent || err.Error() != want {
		t.Fatalf("%v (%v)\nwant %s", err, errclass.Of(err), want)
	}
	if err := recordsize.Error("x", recordsize.Max); !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("at the maximum: %v", err)
	}
	if err := recordsize.FieldsError("x"); errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "more than 1048576 fields") {
		t.Fatalf("fields: %v", err)
	}
	for n, want := range map[int64]string{64 << 20: "64 MiB", 1 << 30: "1 GiB", 1536: "1536 bytes, 1.5 KiB", 900: "900 bytes", 3 << 10: "3 KiB"} {
		if got := recordsize.Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
