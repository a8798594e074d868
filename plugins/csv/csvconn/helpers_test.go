package csvconn_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/plugins/csv/csvconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// configured returns a csv connector configured with cfg.
func configured(t *testing.T, cfg map[string]any) *csvconn.Connector {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := csvconn.New(hclog.NewNullLogger())
	ferrs, err := c.Configure(context.Background(), raw)
	if err != nil || len(ferrs) > 0 {
		t.Fatalf("Configure(%s) = %v, %v", raw, ferrs, err)
	}
	return c
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// page is one page read, with the checkpoint it was read at.
type page struct {
	at  []byte
	sum rowhash.Sum
	rec arrow.RecordBatch
	out sdk.Page
}

// readAll reads a stream from checkpoint at to the end. Each page's
// records are retained in the result; the caller may release them.
func readAll(t *testing.T, src sdk.Source, req sdk.ReadRequest) []page {
	t.Helper()
	var pages []page
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("read does not end")
		}
		p, err := src.ReadPage(context.Background(), req)
		if err != nil {
			t.Fatalf("ReadPage(checkpoint %s): %v", req.Checkpoint, err)
		}
		var s rowhash.Sum
		if p.Records != nil {
			s.Add(p.Records)
		}
		pages = append(pages, page{at: req.Checkpoint, sum: s, rec: p.Records, out: p})
		if p.Done {
			return pages
		}
		if len(p.Checkpoint) == 0 {
			t.Fatal("a page that is not done has no checkpoint")
		}
		req.Checkpoint = p.Checkpoint
	}
}

// total sums the pages.
func total(pages []page) rowhash.Sum {
	var s rowhash.Sum
	for _, p := range pages {
		s.Merge(p.sum)
	}
	return s
}

// copyStream reads every page of src and writes it to dst in one write.
func copyStream(t *testing.T, src sdk.Source, dst sdk.Destination, stream string, wr sdk.WriteRequest) rowhash.Sum {
	t.Helper()
	ctx := context.Background()
	pages := readAll(t, src, sdk.ReadRequest{Stream: stream, MaxRows: 3})
	if wr.Schema == nil {
		streams, err := src.Discover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wr.Schema = streams[0].Schema
	}
	if err := dst.BeginWrite(ctx, wr); err != nil {
		t.Fatalf("BeginWrite: %v", err)
	}
	for i, p := range pages {
		if err := dst.WriteBatch(ctx, wr.WriteID, int64(i+1), p.rec); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
	}
	if err := dst.CommitWrite(ctx, wr.WriteID, nil); err != nil {
		t.Fatalf("CommitWrite: %v", err)
	}
	return total(pages)
}

// visible lists the names in dir that do not start with a dot.
func visible(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name()[0] != '.' {
			names = append(names, e.Name())
		}
	}
	return names
}
