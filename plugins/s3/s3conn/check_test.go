package s3conn_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/plugins/s3/s3conn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// offline returns a connector whose endpoint nobody listens on (port 1):
// CheckWrite must answer without reaching it. cfg's keys replace the
// defaults; a nil value removes one.
func offline(t *testing.T, cfg map[string]any) *s3conn.Connector {
	t.Helper()
	m := map[string]any{"bucket": "lake", "path_prefix": "raw", "endpoint_url": "http://127.0.0.1:1",
		"access_key_id": "k", "secret_access_key": "s"}
	for k, v := range cfg {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	c := s3conn.New(nil)
	ferrs, err := c.Configure(context.Background(), raw)
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("Configure(%s) = %v, %v", raw, ferrs, err)
	}
	return c
}

func checkWrite(t *testing.T, c *s3conn.Connector, target string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.CheckWrite(ctx, sdk.WriteRequest{Flow: "p/f", Target: target, Mode: sdk.ModeAppend})
	if err != nil {
		t.Fatalf("CheckWrite(%q): %v", target, err)
	}
	return r
}

// TestCheckWriteResolvesOneDatasetOnce: the spellings of one dataset
// resolve equal, across two connectors of one configuration too; another
// dataset, prefix, bucket or endpoint resolves differently.
func TestCheckWriteResolvesOneDatasetOnce(t *testing.T) {
	one := offline(t, nil)
	want := checkWrite(t, one, "orders")
	if want != "s3://127.0.0.1:1/lake/raw/orders/" {
		t.Fatalf("orders resolves to %q", want)
	}
	for name, got := range map[string]string{
		"/orders/":                        checkWrite(t, one, "/orders/"),
		"orders in another connector":     checkWrite(t, offline(t, nil), "orders"),
		"orders written as csv":           checkWrite(t, offline(t, map[string]any{"file_format": "csv"}), "orders"),
		"raw/orders under no prefix":      checkWrite(t, offline(t, map[string]any{"path_prefix": nil}), "raw/orders"),
		"orders under the prefix /raw/":   checkWrite(t, offline(t, map[string]any{"path_prefix": "/raw/"}), "orders"),
		"orders under the uri's prefix":   checkWrite(t, offline(t, map[string]any{"bucket": nil, "path_prefix": nil, "uri": "s3://lake/raw/"}), "orders"),
		"orders with another access key":  checkWrite(t, offline(t, map[string]any{"access_key_id": "k2"}), "orders"),
		"orders with the endpoint's path": checkWrite(t, offline(t, map[string]any{"endpoint_url": "http://127.0.0.1:1/"}), "orders"),
	} {
		if got != want {
			t.Errorf("%s resolves to %q; orders resolves to %q", name, got, want)
		}
	}
	for name, got := range map[string]string{
		"orders.csv":               checkWrite(t, one, "orders.csv"),
		"orders in another bucket": checkWrite(t, offline(t, map[string]any{"bucket": "lake2"}), "orders"),
		"orders under no prefix":   checkWrite(t, offline(t, map[string]any{"path_prefix": nil}), "orders"),
		"orders on another port":   checkWrite(t, offline(t, map[string]any{"endpoint_url": "http://127.0.0.1:2"}), "orders"),
		"orders on AWS":            checkWrite(t, offline(t, map[string]any{"endpoint_url": nil}), "orders"),
	} {
		if got == want {
			t.Errorf("%s resolves to %q, as orders does", name, got)
		}
	}
	if a, b := checkWrite(t, offline(t, map[string]any{"endpoint_url": "https://S3.Example.com"}), "x"),
		checkWrite(t, offline(t, map[string]any{"endpoint_url": "https://s3.example.com:443"}), "x"); a != b || a != "s3://s3.example.com:443/lake/raw/x/" {
		t.Errorf("one endpoint spelt two ways resolves to %q and %q", a, b)
	}
	if got := checkWrite(t, offline(t, map[string]any{"endpoint_url": nil}), "orders"); got != "s3:///lake/raw/orders/" {
		t.Errorf("on AWS orders resolves to %q", got)
	}
}

// TestCheckWriteRefuses: what BeginWrite refuses before reaching the
// server CheckWrite refuses, with the same PERMANENT error.
func TestCheckWriteRefuses(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	tests := []struct {
		name    string
		req     sdk.WriteRequest
		wantErr string
	}{
		{"no target", sdk.WriteRequest{Mode: sdk.ModeReplace}, `target "" is not a usable dataset name under s3://lake/raw: use a name`},
		{"only slashes", sdk.WriteRequest{Target: "//", Mode: sdk.ModeReplace}, "is not a usable dataset name"},
		{"parent", sdk.WriteRequest{Target: "a/../b", Mode: sdk.ModeReplace}, "is not a usable dataset name"},
		{"hidden", sdk.WriteRequest{Target: ".orders", Mode: sdk.ModeReplace}, "is not a usable dataset name"},
		{"underscore part", sdk.WriteRequest{Target: "a/_tmp", Mode: sdk.ModeReplace}, "is not a usable dataset name"},
		{"invalid UTF-8", sdk.WriteRequest{Target: "or\xffders", Mode: sdk.ModeReplace}, "is not a usable dataset name"},
		{"upsert", sdk.WriteRequest{Target: "orders", Mode: sdk.ModeUpsert, Key: []string{"id"}}, `write mode "upsert" is not supported by the s3 connector: use replace or append`},
		{"no mode", sdk.WriteRequest{Target: "orders"}, `write mode "" is not supported`},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := offline(t, nil)
			req := tt.req
			req.Flow = "p/f"
			_, cerr := c.CheckWrite(ctx, req)
			req.WriteID, req.Schema = "w1", schema
			berr := c.BeginWrite(ctx, req)
			for call, err := range map[string]error{"CheckWrite": cerr, "BeginWrite": berr} {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errclass.Of(err) != errclass.Permanent {
					t.Errorf("%s: %v; want PERMANENT ...%s...", call, err, tt.wantErr)
				}
			}
			if cerr != nil && berr != nil && cerr.Error() != berr.Error() {
				t.Errorf("CheckWrite says\n  %v\nBeginWrite says\n  %v", cerr, berr)
			}
		})
	}
}
