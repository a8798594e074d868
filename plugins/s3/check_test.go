package main_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk"
)

// TestCheckWriteAgreesWithBeginWrite: against a real server, the writes
// CheckWrite accepts BeginWrite accepts, CheckWrite leaves no object
// behind, and the commit writes the dataset under the prefix CheckWrite
// resolved.
func TestCheckWriteAgreesWithBeginWrite(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	tests := []struct {
		name, format string
		req          sdk.WriteRequest
	}{
		{"replace", "parquet", sdk.WriteRequest{Target: "orders", Mode: sdk.ModeReplace}},
		{"append, slashes", "csv", sdk.WriteRequest{Target: "/daily/orders/", Mode: sdk.ModeAppend}},
		{"default target", "jsonl", sdk.WriteRequest{Target: "events", DefaultTarget: true, Mode: sdk.ModeReplace}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configure(t, srv.config(t, map[string]any{"path_prefix": "cw", "file_format": tt.format}))
			req := tt.req
			req.Flow = "p/" + tt.name
			before := srv.keys(t, "")
			resolved, err := c.CheckWrite(ctx, req)
			if err != nil {
				t.Fatalf("CheckWrite: %v", err)
			}
			again, err := c.CheckWrite(ctx, req)
			if err != nil || again != resolved {
				t.Fatalf("CheckWrite again: %q, %v; first %q", again, err, resolved)
			}
			if after := srv.keys(t, ""); !slices.Equal(after, before) {
				t.Fatalf("objects before CheckWrite: %v; after: %v", before, after)
			}
			req.WriteID, req.Schema = "w"+string(rune('a'+i)), schema
			rec := batch(schema, 0, 10)
			defer rec.Release()
			if err := c.BeginWrite(ctx, req); err != nil {
				t.Fatalf("CheckWrite accepted, BeginWrite: %v", err)
			}
			if err := c.WriteBatch(ctx, req.WriteID, 1, rec); err != nil {
				t.Fatal(err)
			}
			if err := c.CommitWrite(ctx, req.WriteID, nil); err != nil {
				t.Fatal(err)
			}
			wantPrefix := "s3://" + strings.TrimPrefix(strings.TrimPrefix(srv.endpoint, "http://"), "https://") + "/" + srv.bucket + "/"
			dir, ok := strings.CutPrefix(resolved, wantPrefix)
			if !ok || !strings.HasSuffix(dir, "/") {
				t.Fatalf("resolved %q does not start with %q or end with /", resolved, wantPrefix)
			}
			if keys := srv.keys(t, dir); !slices.Contains(keys, dir+"_SUCCESS") {
				t.Fatalf("the commit wrote no manifest under the resolved prefix %q; under it: %v; in the bucket: %v", dir, keys, srv.keys(t, ""))
			}
		})
	}
}
