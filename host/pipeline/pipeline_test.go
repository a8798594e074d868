package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/host/connector"
	"github.com/sqlflow/sqlflow-host/host/pipeline"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

var schema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

func encode(t *testing.T, from, n int) []byte {
	t.Helper()
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Append(int64(from + i))
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(n))
	defer rec.Release()
	data, err := arrowipc.EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fakeSource serves pages of pageRows rows; failAt (1-based) fails.
type fakeSource struct {
	connector.Conn
	t        *testing.T
	pages    int
	pageRows int
	failAt   int
	mu       sync.Mutex
	read     int
	written  *int
	ahead    int // max pages read beyond those written
}

func (s *fakeSource) ReadPage(ctx context.Context, req sdk.ReadRequest) (connector.Page, error) {
	i := 0
	if len(req.Checkpoint) > 0 {
		i, _ = strconv.Atoi(string(req.Checkpoint))
	}
	s.mu.Lock()
	s.read++
	if d := s.read - *s.written; d > s.ahead {
		s.ahead = d
	}
	s.mu.Unlock()
	if i+1 == s.failAt {
		return connector.Page{}, errclass.Permanentf("bad row on page %d", i+1)
	}
	if s.pages == 0 {
		return connector.Page{Done: true}, nil
	}
	return connector.Page{
		Records: encode(s.t, i*s.pageRows, s.pageRows), Rows: int64(s.pageRows),
		Checkpoint: []byte(strconv.Itoa(i + 1)), Done: i+1 == s.pages,
		CursorValue: json.RawMessage(strconv.Itoa((i+1)*s.pageRows - 1)),
	}, nil
}

type fakeDest struct {
	connector.Conn
	mu        sync.Mutex
	began     *sdk.WriteRequest
	seqs      []int64
	rows      int64
	committed bool
	aborted   bool
	state     []byte
	written   int
	slow      time.Duration
	beginErr  error
	abortErr  error
}

func (d *fakeDest) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	d.began = &req
	return d.beginErr
}

func (d *fakeDest) WriteBatch(ctx context.Context, id string, seq int64, rec []byte) error {
	if d.slow > 0 {
		time.Sleep(d.slow)
	}
	r, err := arrowipc.DecodeRecord(rec)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.rows += r.NumRows()
	d.seqs = append(d.seqs, seq)
	d.written++
	d.mu.Unlock()
	r.Release()
	return nil
}

func (d *fakeDest) CommitWrite(ctx context.Context, id string, state []byte) (map[string]string, error) {
	d.committed = true
	d.state = state
	return map[string]string{"rows": strconv.FormatInt(d.rows, 10)}, nil
}

func (d *fakeDest) AbortWrite(ctx context.Context, id string) error {
	d.aborted = true
	return d.abortErr
}

// TestAbortLogs: an abort with nothing to abort (the begin-write itself
// failed, and the destination has no such write) logs no ERROR; an abort
// of an opened write that fails does.
func TestAbortLogs(t *testing.T) {
	tests := []struct {
		name      string
		dst       *fakeDest
		wantError bool
	}{
		{name: "begin failed", dst: &fakeDest{beginErr: errclass.Permanentf("no such schema"), abortErr: errclass.Permanentf("no write w1")}},
		{name: "write failed", dst: &fakeDest{abortErr: errclass.Transientf("connection lost")}, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			logger := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})
			src := &fakeSource{t: t, pages: 2, pageRows: 3, written: &tt.dst.written}
			var dest connector.Conn = tt.dst
			if tt.wantError {
				dest = failingWrites{tt.dst}
			}
			_, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: src, Dest: dest, Target: "t"}, pipeline.Options{Logger: logger})
			if err == nil || !tt.dst.aborted {
				t.Fatalf("err %v, aborted %v", err, tt.dst.aborted)
			}
			if got := strings.Contains(logs.String(), "[ERROR]"); got != tt.wantError {
				t.Fatalf("ERROR logged: %v, want %v; logs:\n%s", got, tt.wantError, logs.String())
			}
		})
	}
}

// failingWrites fails every WriteBatch.
type failingWrites struct{ *fakeDest }

func (failingWrites) WriteBatch(context.Context, string, int64, []byte) error {
	return errclass.Permanentf("disk full")
}

func TestRunCopiesAndCommits(t *testing.T) {
	dst := &fakeDest{}
	src := &fakeSource{t: t, pages: 5, pageRows: 10, written: &dst.written}
	res, err := pipeline.Run(context.Background(), pipeline.Flow{
		Name: "f", Source: src, Dest: dst, Stream: "s", Target: "t", Mode: sdk.ModeReplace,
		CursorField: "id", State: func(c json.RawMessage) []byte { return append([]byte("cursor="), c...) },
	}, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 50 || res.Pages != 5 || !dst.committed || dst.aborted || dst.rows != 50 {
		t.Fatalf("result %+v, dest %+v", res, dst)
	}
	for i, s := range dst.seqs {
		if s != int64(i+1) {
			t.Fatalf("seqs = %v", dst.seqs)
		}
	}
	if !dst.began.Schema.Equal(schema) || dst.began.Flow != "f" || dst.began.Target != "t" || dst.began.WriteID != res.WriteID {
		t.Fatalf("begin = %+v", dst.began)
	}
	if string(dst.state) != "cursor=49" || string(res.Cursor) != "49" {
		t.Fatalf("state %q cursor %q", dst.state, res.Cursor)
	}
	if res.Report["rows"] != "50" {
		t.Fatalf("report %v", res.Report)
	}
}

func TestFailureAbortsAndNeverCommits(t *testing.T) {
	dst := &fakeDest{}
	src := &fakeSource{t: t, pages: 5, pageRows: 10, failAt: 3, written: &dst.written}
	_, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", SourceName: "src", Source: src, Dest: dst, Stream: "s", Target: "t"}, pipeline.Options{})
	if err == nil || !strings.Contains(err.Error(), `flow "f"`) || !strings.Contains(err.Error(), "read page 3") ||
		!strings.Contains(err.Error(), "bad row on page 3") || errclass.Of(err) != errclass.Permanent {
		t.Fatalf("err = %v", err)
	}
	if dst.committed || !dst.aborted {
		t.Fatalf("committed=%v aborted=%v", dst.committed, dst.aborted)
	}
}

func TestFailureOnFirstPageDoesNotBegin(t *testing.T) {
	dst := &fakeDest{}
	src := &fakeSource{t: t, pages: 5, pageRows: 10, failAt: 1, written: &dst.written}
	if _, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: src, Dest: dst}, pipeline.Options{}); err == nil {
		t.Fatal("no error")
	}
	if dst.began != nil || dst.committed {
		t.Fatal("a write was opened for a flow that read nothing")
	}
}

func TestEmptyStreamReplaceCommitsWithDiscoveredSchema(t *testing.T) {
	dst := &fakeDest{}
	src := &fakeSource{t: t, pages: 0, written: &dst.written}
	res, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: src, Dest: dst, Schema: schema, Mode: sdk.ModeReplace}, pipeline.Options{})
	if err != nil || res.Rows != 0 || !dst.committed || !res.Committed || !dst.began.Schema.Equal(schema) {
		t.Fatalf("res %+v err %v dest %+v", res, err, dst)
	}
}

// An empty stream appended or upserted leaves the target alone: no write
// is opened at all.
func TestEmptyStreamAppendOpensNoWrite(t *testing.T) {
	for _, mode := range []sdk.WriteMode{sdk.ModeAppend, sdk.ModeUpsert} {
		dst := &fakeDest{}
		src := &fakeSource{t: t, pages: 0, written: &dst.written}
		res, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: src, Dest: dst, Schema: schema, Mode: mode, Key: []string{"id"}}, pipeline.Options{})
		if err != nil || res.Committed || dst.began != nil || dst.committed || dst.aborted {
			t.Fatalf("%s: res %+v err %v dest %+v", mode, res, err, dst)
		}
	}
}

// A replace of an empty stream with no known schema asks the destination
// to empty the target keeping its columns (a nil schema); a destination
// that cannot (no such target) leaves it as it was, with a warning.
func TestEmptyStreamReplaceWithoutSchema(t *testing.T) {
	dst := &fakeDest{}
	src := &fakeSource{t: t, pages: 0, written: &dst.written}
	res, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: src, Dest: dst, Mode: sdk.ModeReplace}, pipeline.Options{})
	if err != nil || !res.Committed || dst.began == nil || dst.began.Schema != nil {
		t.Fatalf("res %+v err %v dest %+v", res, err, dst)
	}
	dst = &fakeDest{beginErr: errclass.Permanentf("table t does not exist and no schema is known")}
	res, err = pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: &fakeSource{t: t, written: &dst.written}, Dest: dst, Mode: sdk.ModeReplace, Target: "t"}, pipeline.Options{})
	if err != nil || res.Committed || dst.committed || !strings.Contains(res.Warning, "table t does not exist") {
		t.Fatalf("res %+v err %v dest %+v", res, err, dst)
	}
	// A transient failure is not taken for "cannot": the flow fails.
	dst = &fakeDest{beginErr: errclass.Transientf("connection reset")}
	if _, err = pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: &fakeSource{t: t, written: &dst.written}, Dest: dst, Mode: sdk.ModeReplace}, pipeline.Options{}); err == nil {
		t.Fatal("a transient begin failure passed as an empty replace")
	}
}

// pagesSource serves the given pages in turn.
type pagesSource struct {
	connector.Conn
	pages []connector.Page
}

func (s *pagesSource) ReadPage(ctx context.Context, req sdk.ReadRequest) (connector.Page, error) {
	i := 0
	if len(req.Checkpoint) > 0 {
		i, _ = strconv.Atoi(string(req.Checkpoint))
	}
	p := s.pages[i]
	p.Checkpoint = []byte(strconv.Itoa(i + 1))
	p.Done = i+1 == len(s.pages)
	return p, nil
}

// The host checks what a page says of itself against its Arrow bytes: a
// wrong or unset num_rows, rows without data, a schema that changes, all
// fail the flow PERMANENT, naming the plugin, and nothing is committed.
func TestPageProtocolErrors(t *testing.T) {
	other := arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.Append("x")
	col := b.NewArray()
	rec := array.NewRecordBatch(other, []arrow.Array{col}, 1)
	otherPage, err := arrowipc.EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	col.Release()
	b.Release()
	cases := []struct {
		name  string
		pages []connector.Page
		want  string
	}{
		{"num_rows unset", []connector.Page{{Records: encode(t, 0, 5)}}, "num_rows is 0 (num_rows left unset?) but its Arrow record batch holds 5 rows"},
		{"num_rows too big", []connector.Page{{Records: encode(t, 0, 5), Rows: 9}}, "num_rows is 9 but its Arrow record batch holds 5 rows"},
		{"rows without data", []connector.Page{{Rows: 3}}, "num_rows is 3 but the page holds no Arrow data"},
		{"damaged data", []connector.Page{{Records: encode(t, 0, 5)[:40], Rows: 5}}, "Arrow data is damaged"},
		{"schema changes", []connector.Page{{Records: encode(t, 0, 5), Rows: 5}, {Records: otherPage, Rows: 1}}, "page 2 of stream \"s\" that the host refuses: its schema differs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := &fakeDest{}
			_, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", SourceName: "src", SourceType: "raw", Stream: "s",
				Source: &pagesSource{pages: tc.pages}, Dest: dst, Mode: sdk.ModeReplace}, pipeline.Options{})
			if err == nil || !errclass.Is(err, errclass.Permanent) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "sqlflow-plugin-raw") {
				t.Fatalf("got %v; want a PERMANENT error naming the plugin and saying %q", err, tc.want)
			}
			if dst.committed || (dst.began != nil && !dst.aborted) {
				t.Fatalf("the write was not left untouched: %+v", dst)
			}
		})
	}
}

func TestCancelAborts(t *testing.T) {
	dst := &fakeDest{slow: 20 * time.Millisecond}
	src := &fakeSource{t: t, pages: 1000, pageRows: 1, written: &dst.written}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	_, err := pipeline.Run(ctx, pipeline.Flow{Name: "f", Source: src, Dest: dst}, pipeline.Options{
		Progress: func(p pipeline.Progress) {
			if p.Pages == 3 {
				once.Do(cancel)
			}
		},
	})
	if !errors.Is(err, context.Canceled) || dst.committed || !dst.aborted {
		t.Fatalf("err %v committed %v aborted %v", err, dst.committed, dst.aborted)
	}
}

// The reader stays at most Prefetch pages (plus the one being read) ahead
// of the writer: memory is bounded by pages in flight.
func TestPrefetchIsBounded(t *testing.T) {
	dst := &fakeDest{slow: 2 * time.Millisecond}
	src := &fakeSource{t: t, pages: 50, pageRows: 1, written: &dst.written}
	if _, err := pipeline.Run(context.Background(), pipeline.Flow{Name: "f", Source: src, Dest: dst}, pipeline.Options{Prefetch: 2}); err != nil {
		t.Fatal(err)
	}
	// in the channel (2) + held by the writer (1) + being read (1)
	if src.ahead > 4 {
		t.Fatalf("reader ran %d pages ahead of the writer", src.ahead)
	}
}

func TestPickStream(t *testing.T) {
	one := []sdk.Stream{{Name: "a"}}
	two := []sdk.Stream{{Name: "a"}, {Name: "b"}}
	if s, err := pipeline.PickStream(one, ""); err != nil || s.Name != "a" {
		t.Fatal(s, err)
	}
	if _, err := pipeline.PickStream(two, ""); !errors.Is(err, pipeline.ErrNoStream) {
		t.Fatal(err)
	}
	if s, err := pipeline.PickStream(two, "b"); err != nil || s.Name != "b" {
		t.Fatal(s, err)
	}
	if _, err := pipeline.PickStream(two, "c"); err == nil || !strings.Contains(err.Error(), "its streams are a, b") {
		t.Fatal(err)
	}
	withDefault := []sdk.Stream{{Name: "a"}, {Name: "b", Default: true}}
	if s, err := pipeline.PickStream(withDefault, ""); err != nil || s.Name != "b" {
		t.Fatal("default stream:", s, err)
	}
	if _, err := pipeline.PickStream(nil, ""); err == nil {
		t.Fatal("no error for no streams")
	}
}
