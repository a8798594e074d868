package restconn_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// rawAPI serves body, as written, as a JSON array of records.
func rawAPI(t *testing.T, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/rows"
}

const moneyBody = `[
 {"id": 1, "amount": 12.50, "ratio": 1.5, "ts": "2026-12-07 01:36:12.123456+00", "b": "t", "m": "12.50"},
 {"id": 2, "amount": -0.10, "ratio": 2.25, "ts": "2026-12-07 07:06:12+05:30", "b": "f", "m": 3},
 {"id": 3, "amount": 100.00, "ratio": 1e3, "ts": "2026-12-07T01:36:12Z", "b": "F", "m": null}
]`

func TestDecimalsAndTextTypes(t *testing.T) {
	url := rawAPI(t, moneyBody)
	c := configure(t, map[string]any{"url": url, "stream_name": "rows",
		"schema": map[string]string{"ts": "timestamp", "b": "bool", "m": "decimal(12,2)"}})
	p, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "rows"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()
	var names []string
	for _, f := range p.Records.Schema().Fields() {
		names = append(names, f.Name+":"+f.Type.String())
	}
	want := "id:int64 amount:decimal(38, 2) ratio:float64 ts:timestamp[us, tz=UTC] b:bool m:decimal(12, 2)"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("schema %s\nwant   %s", got, want)
	}
	amount := p.Records.Column(1).(*array.Decimal128)
	for i, w := range []string{"12.50", "-0.10", "100.00"} {
		if got := amount.Value(i).ToString(2); got != w {
			t.Errorf("amount[%d] = %s, want %s", i, got, w)
		}
	}
	m := p.Records.Column(5).(*array.Decimal128)
	if m.Value(0).ToString(2) != "12.50" || m.Value(1).ToString(2) != "3.00" || !m.IsNull(2) {
		t.Errorf("m = %v", m)
	}
	ts := p.Records.Column(3).(*array.Timestamp)
	for i := 0; i < 3; i++ {
		got := ts.Value(i).ToTime(arrow.Microsecond).UTC()
		w := time.Date(2026, 12, 7, 1, 36, 12, 0, time.UTC)
		if i == 0 {
			w = w.Add(123456 * time.Microsecond)
		}
		if !got.Equal(w) {
			t.Errorf("ts[%d] = %s, want %s", i, got, w)
		}
	}
	b := p.Records.Column(4).(*array.Boolean)
	if !b.Value(0) || b.Value(1) || b.Value(2) {
		t.Errorf("b = %v", b)
	}

	off := configure(t, map[string]any{"url": url, "stream_name": "rows", "infer_decimals": false})
	p2, err := off.ReadPage(t.Context(), sdk.ReadRequest{Stream: "rows"})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Records.Release()
	if got := p2.Records.Schema().Field(1).Type; !arrow.TypeEqual(got, arrow.PrimitiveTypes.Float64) {
		t.Errorf("infer_decimals false: amount is %s, want float64", got)
	}
}

func TestTextValueErrorsNameRecordAndField(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		schema map[string]string
		want   []string
	}{
		{"decimal past its scale", `[{"m": "1.00"}, {"m": 12.505}]`, map[string]string{"m": "decimal(12,2)"},
			[]string{`record 2, field "m"`, `value "12.505" has 3 fraction digits`, "not rounded"}},
		{"infinity", `[{"ts": "infinity"}]`, map[string]string{"ts": "timestamp"},
			[]string{`record 1, field "ts"`, "infinite timestamp"}},
		{"nanoseconds", `[{"ts": "2026-12-07T01:36:12.123456789Z"}]`, map[string]string{"ts": "timestamp"},
			[]string{`record 1, field "ts"`, "below the microsecond"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]any{"url": rawAPI(t, tt.body), "stream_name": "rows"}
			if tt.schema != nil {
				cfg["schema"] = tt.schema
			}
			_, err := configure(t, cfg).ReadPage(t.Context(), sdk.ReadRequest{Stream: "rows"})
			if !errclass.Is(err, errclass.Permanent) {
				t.Fatalf("err = %v, want PERMANENT", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDecimalCursor(t *testing.T) {
	url := rawAPI(t, `[{"id": 1, "amount": 9.99}, {"id": 2, "amount": 10.00}, {"id": 3, "amount": 10.01}, {"id": 4, "amount": 100.50}]`)
	c := configure(t, map[string]any{"url": url, "stream_name": "rows"})
	p, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "rows", CursorField: "amount", CursorValue: []byte(`"10.00"`)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Records.Release()
	wantIDs(t, rowsOf(p.Records), 3, 4)
	if got := string(p.CursorValue); got != `"100.50"` {
		t.Errorf("cursor %s, want \"100.50\"", got)
	}
}
