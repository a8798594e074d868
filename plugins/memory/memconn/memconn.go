// Package memconn is the memory connector: a source that serves inline rows
// or a seeded generator's rows (optionally injecting faults), and a
// destination that keeps what it is written in process memory.
//
// # Source
//
// The source has one stream, named by table_name. Its rows are either the
// inline `rows` list or `generate: {rows: N, seed: S}`, whose row i is a
// pure function of (S, i), so any page can be built without the ones before
// it. A checkpoint is the JSON object {"row": next row index, "page": pages
// read so far} (plus "cursor_max" on incremental reads): the same checkpoint
// always yields the same page, in any process.
//
// # Faults
//
// The `faults` block makes ReadPage fail on purpose: a share of calls fail
// TRANSIENT or RATE_LIMITED, every page is delayed, and one page can fail
// PERMANENT. A repeated request for the same checkpoint draws again, so the
// host's retries can get through. This is a tool to try a pipeline's
// resilience settings.
//
// # Destination
//
// Writes are staged per write id, WriteBatch is idempotent per seq, and
// CommitWrite applies the staged rows in replace, append or upsert mode.
// Tables live as long as the plugin process; dump_path additionally writes
// each committed table to an Arrow IPC file, so tests in another process
// can inspect it. CommitReport gives the table's row count and its
// order-independent rowhash checksum.
//
// # Concurrency
//
// All methods are safe to call concurrently; Configure swaps the whole
// configuration at once.
package memconn

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Version is the connector's version, reported in its Spec.
const Version = "0.1.0"

// Page size defaults, used when a ReadRequest leaves MaxRows or MaxBytes zero.
const (
	DefaultMaxRows  = 65536
	DefaultMaxBytes = 8 << 20
)

// Connector is the memory connector. It implements sdk.Source,
// sdk.Destination and sdk.CommitReporter. The zero value is not usable;
// call New.
type Connector struct {
	logger   hclog.Logger
	id       string // names the connector in resolved targets; see CheckWrite
	cfg      atomic.Pointer[config]
	attempts attempts

	mu     sync.Mutex
	tables map[string]*table
	writes map[string]*write
}

var (
	_ sdk.Source         = (*Connector)(nil)
	_ sdk.Destination    = (*Connector)(nil)
	_ sdk.CommitReporter = (*Connector)(nil)
)

// New returns an unconfigured memory connector. A nil logger discards.
func New(logger hclog.Logger) *Connector {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Connector{logger: logger, id: newInstanceID(), tables: map[string]*table{}, writes: map[string]*write{}}
}

// Spec describes the memory connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "memory",
		Version:         Version,
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceNone,
		Incremental:     true,
		Upsert:          true,
		Discover:        true,
		WriteModes:      []sdk.WriteMode{sdk.ModeReplace, sdk.ModeAppend, sdk.ModeUpsert},
		LocationKeys:    []string{"table_name"},
		// In memory: no retries, breaker or rate limit, since there is no
		// system behind it to fail or to protect. The host still gives
		// every call a deadline and restarts a crashed plugin.
		Resilience: map[string]any{
			"retry.max_attempts":      1,
			"circuit_breaker.enabled": false,
			"rate_limit.enabled":      false,
		},
		LocalDiscover: true,
	}
}

// Configure validates and applies config. On field errors the previous
// configuration (if any) stays in force. Tables written earlier are kept.
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, ferrs := parseConfig(raw)
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	c.cfg.Store(cfg)
	return nil, nil
}

func (c *Connector) config() (*config, error) {
	cfg := c.cfg.Load()
	if cfg == nil {
		return nil, errclass.Permanentf("the memory connector is not configured")
	}
	return cfg, nil
}

// Check succeeds once the connector is configured: there is no remote
// system to reach.
func (c *Connector) Check(ctx context.Context) error {
	_, err := c.config()
	return err
}

// Discover returns the one stream, named by table_name, with its exact
// row count as EstimatedRows. Inline rows that are an empty list name no
// column: the stream has no schema.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	cfg, err := c.source()
	if err != nil {
		return nil, err
	}
	schema := cfg.data.schema()
	if schema != nil && schema.NumFields() == 0 {
		schema = nil
	}
	return []sdk.Stream{{
		Name:         cfg.tableName,
		Schema:       schema,
		PrimaryKey:   cfg.data.primaryKey(),
		CursorFields: cfg.data.cursorFields(),
		// Exact: generate.rows or the number of inline rows.
		EstimatedRows: cfg.data.numRows(),
	}}, nil
}

func (c *Connector) source() (*config, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, err
	}
	if cfg.data == nil {
		return nil, errclass.Permanentf("the memory source %q has no data: set `rows` (inline rows) or `generate` (a seeded generator) in its config", cfg.tableName)
	}
	return cfg, nil
}

// checkpoint is the source's position, sent to the host as JSON.
type checkpoint struct {
	// Row is the index of the next row to read (0-based).
	Row int64 `json:"row"`
	// Page is how many pages were read before this position; the page read
	// from here is page Page+1 (the number permanent_at_page refers to).
	Page int64 `json:"page"`
	// CursorMax is, on incremental reads, the greatest cursor value read so
	// far (JSON), absent before the first row.
	CursorMax json.RawMessage `json:"cursor_max,omitempty"`
}

func decodeCheckpoint(b []byte) (checkpoint, error) {
	var cp checkpoint
	if len(b) == 0 {
		return cp, nil
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, errclass.Permanentf("invalid memory source checkpoint %q: %v; expected {\"row\": N, \"page\": P}", b, err)
	}
	if cp.Row < 0 || cp.Page < 0 {
		return cp, errclass.Permanentf("invalid memory source checkpoint %q: row and page must not be negative", b)
	}
	return cp, nil
}

// pageRows is how many rows one page may hold under req's caps.
func pageRows(req sdk.ReadRequest, rowBytes int64) int64 {
	maxRows, maxBytes := req.MaxRows, req.MaxBytes
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return max(1, min(maxRows, maxBytes/max(1, rowBytes), maxPageRows))
}

// maxPageRows bounds a page whatever the caps say: 4 Mi generated rows are
// about 330 MB of Arrow, already over the protocol's 256 MiB message cap,
// and it keeps string offsets far from int32 overflow.
const maxPageRows = 1 << 22

// ReadPage returns the page at req.Checkpoint. Errors: PERMANENT for an
// unknown stream, a bad checkpoint or cursor, and an injected permanent
// fault; TRANSIENT or RATE_LIMITED for injected faults.
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	cfg, err := c.source()
	if err != nil {
		return sdk.Page{}, err
	}
	if req.Stream != "" && req.Stream != cfg.tableName {
		return sdk.Page{}, errclass.Permanentf("the memory source has no stream %q; its one stream is %q (table_name)", req.Stream, cfg.tableName)
	}
	cp, err := decodeCheckpoint(req.Checkpoint)
	if err != nil {
		return sdk.Page{}, err
	}
	page := cp.Page + 1
	if cfg.faults != nil {
		if err := cfg.faults.inject(ctx, req.Checkpoint, page, c.attempts.next(req.Checkpoint)); err != nil {
			return sdk.Page{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return sdk.Page{}, errclass.Transientf("reading page %d of %q: %w", page, cfg.tableName, err)
	}

	d := cfg.data
	n := d.numRows()
	limit := pageRows(req, d.rowBytes())
	start := min(cp.Row, n)
	out := sdk.Page{}
	var next int64
	if req.CursorField == "" {
		next = min(start+limit, n)
		out.Records = d.buildRange(start, next)
	} else {
		var cursorMax json.RawMessage
		out.Records, next, cursorMax, err = readIncremental(ctx, d, req, cp, start, limit)
		if err != nil {
			return sdk.Page{}, err
		}
		out.CursorValue = cursorMax
	}
	out.Done = next >= n
	out.Checkpoint, _ = json.Marshal(checkpoint{Row: next, Page: page, CursorMax: out.CursorValue})
	return out, nil
}

// readIncremental reads up to limit rows from start whose cursor column is
// greater than req.CursorValue. It returns the rows, the next row index to
// scan and the greatest cursor value read so far (including earlier pages,
// via the checkpoint).
func readIncremental(ctx context.Context, d dataset, req sdk.ReadRequest, cp checkpoint, start, limit int64) (arrow.RecordBatch, int64, json.RawMessage, error) {
	col, err := d.cursor(req.CursorField)
	if err != nil {
		return nil, 0, nil, errclass.Permanentf("incremental read of the memory source: %v", err)
	}
	var best cval
	haveBest := false
	if len(cp.CursorMax) > 0 {
		if best, err = parseCursor(col.kind, cp.CursorMax); err != nil {
			return nil, 0, nil, errclass.Permanentf("invalid cursor_max in the memory source checkpoint: %v", err)
		}
		haveBest = true
	}
	var lower cval
	hasLower := len(req.CursorValue) > 0 && jsonKind(req.CursorValue) != "null"
	if hasLower {
		if lower, err = parseCursor(col.kind, req.CursorValue); err != nil {
			return nil, 0, nil, errclass.Permanentf("cursor value %s for column %q: %v", req.CursorValue, req.CursorField, err)
		}
	}
	see := func(v cval) {
		if !haveBest || compare(col.kind, v, best) > 0 {
			best, haveBest = v, true
		}
	}
	n := d.numRows()
	var rec arrow.RecordBatch
	var next int64
	if col.monotonic {
		if hasLower {
			start += int64(sort.Search(int(n-start), func(j int) bool {
				v, _ := col.at(start + int64(j))
				return compare(col.kind, v, lower) > 0
			}))
		}
		next = min(start+limit, n)
		rec = d.buildRange(start, next)
		if next > start {
			v, _ := col.at(next - 1)
			see(v)
		}
	} else {
		rows := make([]int64, 0, min(limit, 4096))
		i := start
		for ; i < n && int64(len(rows)) < limit; i++ {
			if i&0xffff == 0 && ctx.Err() != nil {
				return nil, 0, nil, errclass.Transientf("incremental read of the memory source: %w", ctx.Err())
			}
			v, ok := col.at(i)
			if !ok || (hasLower && compare(col.kind, v, lower) <= 0) {
				continue
			}
			rows = append(rows, i)
			see(v)
		}
		next = i
		rec = d.buildRows(rows)
	}
	var cursorMax json.RawMessage
	if haveBest {
		cursorMax = encodeCursor(col.kind, best)
	}
	return rec, next, cursorMax, nil
}
