package pgsql

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/classify/pgclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// queryStream is the name of the stream of a source configured with query.
const queryStream = "query"

// orderMode is how a stream's rows are ordered into pages.
type orderMode int

const (
	// modeKeyset pages by the primary key (or the configured key):
	// WHERE (k1, k2) > ($1, $2) ORDER BY k1, k2 LIMIT n.
	modeKeyset orderMode = iota
	// modeCTID pages a table without a key by its physical row id
	// (a TID range scan).
	modeCTID
	// modeOffset pages a view or query without a key by OFFSET within an
	// ordering by the whole row's text.
	modeOffset
)

// oidTID is the type of ctid.
const oidTID = 27

// streamPlan is everything needed to read one stream.
type streamPlan struct {
	name   string
	from   string // FROM clause: a quoted relation or "(query) AS q"
	alias  string
	cols   []*column
	key    []int // keyset columns (indexes into cols)
	mode   orderMode
	schema *arrow.Schema
	label  string // for messages: table "s"."t", the query
	// varBytes is, per column, the average bytes of a variable-length
	// value on the last page read (0 for fixed-width columns), to size the
	// next page's builders once instead of growing them by doubling
	// (guarded by the connector's mu).
	varBytes []int64
}

// checkpoint is the position after a page, encoded as JSON.
type checkpoint struct {
	// Page is the number of pages read; Rows the rows read.
	Page int64 `json:"page"`
	Rows int64 `json:"rows"`
	// Order names the ordering columns Last holds, so a checkpoint of a
	// table whose key changed is refused rather than misread.
	Order []string `json:"order,omitempty"`
	// Last holds the ordering columns' values of the last row read, in
	// PostgreSQL's binary format (base64 in JSON).
	Last [][]byte `json:"last,omitempty"`
	// Offset is the rows to skip (modeOffset).
	Offset int64 `json:"offset,omitempty"`
	// Cursor is the greatest cursor value read so far (incremental).
	Cursor json.RawMessage `json:"cursor,omitempty"`
	// RowBytes is the average Arrow bytes per row seen so far; it sizes the
	// next page's LIMIT.
	RowBytes int64 `json:"row_bytes,omitempty"`
}

// Discover lists the tables and views of the configured schema (or the
// one table, or the query) with their Arrow schemas, primary keys and
// candidate cursor columns. A table's EstimatedRows is the planner's
// pg_class.reltuples (as of the last ANALYZE or VACUUM); a view's and the
// query's are 0 (unknown).
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	cfg, pool, err := c.conn()
	if err != nil {
		return nil, err
	}
	if cfg.Query != "" {
		p, err := c.plan(ctx, queryStream)
		if err != nil {
			return nil, err
		}
		return []sdk.Stream{{Name: p.name, Schema: p.schema, PrimaryKey: cfg.Key, CursorFields: cursorCandidates(p.cols)}}, nil
	}
	schema, table := cfg.Schema, ""
	if cfg.Table != "" {
		schema, table = splitName(cfg.Table, cfg.Schema)
	}
	rels, err := loadRelations(ctx, pool, schema, table, cfg.Specials)
	if err != nil {
		return nil, c.fail(ctx, err, "discover the tables of schema %q", schema)
	}
	if table != "" && len(rels) == 0 {
		return nil, errclass.Permanentf("postgres: no table or view %q in schema %q of database %q", table, schema, cfg.poolConfig.ConnConfig.Database)
	}
	out := make([]sdk.Stream, 0, len(rels))
	for _, r := range rels {
		pk := r.PK
		if len(cfg.Key) > 0 {
			pk = cfg.Key
		}
		out = append(out, sdk.Stream{Name: r.streamName(), Schema: schemaOf(r.Columns), PrimaryKey: pk, CursorFields: cursorCandidates(r.Columns),
			EstimatedRows: r.EstimatedRows})
	}
	return out, nil
}

// plan returns the read plan of a stream, from the cache or the catalog.
func (c *Connector) plan(ctx context.Context, stream string) (*streamPlan, error) {
	cfg, pool, err := c.conn()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	p := c.streams[stream]
	c.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p = &streamPlan{name: stream}
	var pk []string
	switch {
	case cfg.Query != "":
		if stream != queryStream && stream != "" {
			return nil, errclass.Permanentf("postgres: the source has one stream, %q (its query); there is no stream %q", queryStream, stream)
		}
		p.name = queryStream
		cols, err := describeQuery(ctx, pool, cfg.Query, cfg.Specials)
		if err != nil {
			return nil, c.fail(ctx, err, "prepare the source query")
		}
		p.cols, p.alias = cols, "q"
		p.from = "(" + cfg.Query + "\n) AS q"
		p.label = "the source query"
		p.mode = modeOffset
	default:
		name := stream
		if name == "" && cfg.Table != "" {
			name = cfg.Table
		}
		schema, table := splitName(name, cfg.Schema)
		if cfg.Table != "" {
			ts, tt := splitName(cfg.Table, cfg.Schema)
			if ts != schema || tt != table {
				return nil, errclass.Permanentf("postgres: the source reads only table %s.%s (key table); there is no stream %q", ts, tt, stream)
			}
		}
		rels, err := loadRelations(ctx, pool, schema, table, cfg.Specials)
		if err != nil {
			return nil, c.fail(ctx, err, "read the catalog entry of %s.%s", schema, table)
		}
		if len(rels) == 0 {
			return nil, errclass.Permanentf("postgres: no table or view %q in schema %q of database %q", table, schema, cfg.poolConfig.ConnConfig.Database)
		}
		r := rels[0]
		p.name = r.streamName()
		p.cols, p.alias = r.Columns, "t"
		p.from = r.ident() + " AS t"
		p.label = fmt.Sprintf("%s %s", describeKind(r.Kind), r.streamName())
		pk = r.PK
		switch {
		case len(cfg.Key) > 0 || len(pk) > 0:
			p.mode = modeKeyset
		case r.Kind == 'r' || r.Kind == 'm':
			p.mode = modeCTID
		default:
			p.mode = modeOffset
		}
	}
	key := cfg.Key
	if len(key) == 0 {
		key = pk
	}
	if len(key) > 0 {
		p.mode = modeKeyset
		for _, k := range key {
			i := columnIndex(p.cols, k)
			if i < 0 {
				return nil, errclass.Permanentf("postgres: key column %q is not a column of %s (columns: %s)", k, p.label, columnNames(p.cols))
			}
			p.key = append(p.key, i)
		}
	}
	p.schema = schemaOf(p.cols)
	switch p.mode {
	case modeCTID:
		c.warnOnce("ctid:"+p.name, "table has no primary key and no key is configured: reading in physical (ctid) order; a restarted read is exact only while the table is not updated (set key: for an exact keyset)", "stream", p.name)
	case modeOffset:
		c.warnOnce("offset:"+p.name, "no key for this stream: reading by OFFSET in the order of the whole row's text; restarts are exact while the data does not change, and each page sorts the whole result (set key: for large results)", "stream", p.name)
	}
	c.mu.Lock()
	c.streams[stream] = p
	c.mu.Unlock()
	return p, nil
}

// prefetchTimeout bounds a speculative read of the next page.
const prefetchTimeout = 5 * time.Minute

// prefetch is a read of the next page started while the host forwards the
// previous one, so that the server, this plugin and the host work at once.
type prefetch struct {
	key    string
	done   chan struct{}
	page   sdk.Page
	err    error
	cancel context.CancelFunc
}

// discard cancels a prefetch and releases its page.
func (p *prefetch) discard() {
	p.cancel()
	<-p.done
	if p.page.Records != nil {
		p.page.Records.Release()
	}
}

func requestKey(req sdk.ReadRequest) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%s\x00%s", req.Stream, req.Checkpoint, req.MaxRows, req.MaxBytes, req.CursorField, req.CursorValue)
}

// ReadPage returns the page at req.Checkpoint: up to MaxRows rows and
// about MaxBytes of Arrow data, in the stream's order, after the rows the
// checkpoint has read.
//
// After answering, it reads the next page in the background (one page
// ahead, on its own connection). A request for exactly that checkpoint
// gets the prefetched page; any other request discards it. A prefetch that
// failed is simply read again, so errors are always those of the call.
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	key := requestKey(req)
	c.mu.Lock()
	pf := c.prefetched
	c.prefetched = nil
	c.mu.Unlock()
	var page sdk.Page
	var err error
	have := false
	if pf != nil && pf.key == key {
		select {
		case <-pf.done:
		case <-ctx.Done():
			pf.discard()
			return sdk.Page{}, c.fail(ctx, ctx.Err(), "read page of %s", req.Stream)
		}
		if pf.err == nil {
			page, have = pf.page, true
		}
	} else if pf != nil {
		pf.discard()
	}
	if !have {
		page, err = c.readPage(ctx, req)
		if err != nil {
			return page, err
		}
	}
	c.mu.Lock()
	ahead := c.cfg != nil && c.cfg.Prefetch
	c.mu.Unlock()
	if !page.Done && ahead {
		next := req
		next.Checkpoint = page.Checkpoint
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), prefetchTimeout)
		p := &prefetch{key: requestKey(next), done: make(chan struct{}), cancel: cancel}
		go func() {
			defer close(p.done)
			defer cancel()
			p.page, p.err = c.readPage(pctx, next)
		}()
		c.mu.Lock()
		old := c.prefetched
		c.prefetched = p
		c.mu.Unlock()
		if old != nil {
			old.discard()
		}
	}
	return page, nil
}

// readPage reads one page (see ReadPage).
func (c *Connector) readPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	cfg, pool, err := c.conn()
	if err != nil {
		return sdk.Page{}, err
	}
	p, err := c.plan(ctx, req.Stream)
	if err != nil {
		return sdk.Page{}, err
	}
	var cp checkpoint
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil {
			return sdk.Page{}, errclass.Permanentf("postgres: invalid checkpoint for stream %q: %v", p.name, err)
		}
	}
	maxRows, maxBytes := req.MaxRows, req.MaxBytes
	if maxRows <= 0 {
		maxRows = defaultPageRows
		if cfg.PageSize > 0 {
			maxRows = cfg.PageSize
		}
	}
	if cfg.PageSize > 0 && cfg.PageSize < maxRows {
		maxRows = cfg.PageSize
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}

	q, err := c.buildQuery(p, req, cp, cfg)
	if err != nil {
		return sdk.Page{}, err
	}
	rowBytes, byteCap := cp.RowBytes, maxBytes+maxBytes/8
	if rowBytes <= 0 {
		// A guess from the types: the page stops at MaxBytes.
		rowBytes, byteCap = estimateRowBytes(p.cols), maxBytes
	}
	// Once the bytes per row are known (from the previous page) the LIMIT
	// is what ends a page: rows past the one a page stops at would still
	// be sent by the server and read to the end of the result, only to be
	// read again by the next page (with a LIMIT 1/8 over the estimate and
	// a stop at MaxBytes that was 13% of a table read twice). byteCap
	// guards against rows much larger than the estimate.
	limit := min(maxRows, max(1, maxBytes/rowBytes+1))
	q.sql += " LIMIT " + strconv.FormatInt(limit, 10)
	if p.mode == modeOffset {
		q.sql += " OFFSET " + strconv.FormatInt(cp.Offset, 10)
	}

	rb := array.NewRecordBuilder(memory.DefaultAllocator, p.schema)
	defer rb.Release()
	// Size the builders for the page at once: growing them by doubling
	// costs a copy and a fresh zeroed buffer each time.
	rb.Reserve(int(limit))
	c.mu.Lock()
	varBytes := slices.Clone(p.varBytes)
	c.mu.Unlock()
	decs := make([]*decoder, len(p.cols))
	for i, col := range p.cols {
		decs[i] = newDecoder(col, rb.Field(i))
		if i < len(varBytes) && varBytes[i] > 0 {
			if vb, ok := rb.Field(i).(interface{ ReserveData(int) }); ok {
				vb.ReserveData(int(min(limit*varBytes[i]+limit*varBytes[i]/16, maxBytes+maxBytes/4)))
			}
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return sdk.Page{}, c.fail(ctx, err, "read page %d of %s: connect", cp.Page+1, p.label)
	}
	defer conn.Release()
	pg := conn.Conn().PgConn()
	rkey := readKey(req)
	if err := c.beginPage(ctx, cfg, pg, rkey, len(req.Checkpoint) == 0); err != nil {
		return sdk.Page{}, c.fail(ctx, err, "read page %d of %s: begin a read-only transaction", cp.Page+1, p.label)
	}
	rr := pg.ExecParams(ctx, q.sql, q.params, q.oids, q.formats, q.resultFormats)
	var (
		rows, bytes int64
		full        bool
		last        = make([][]byte, len(q.order))
		lastBuf     []byte
		decodeErr   error
	)
	for rr.NextRow() {
		vals := rr.Values()
		for i, d := range decs {
			if err := d.appendValue(vals[i]); err != nil {
				decodeErr = errclass.Permanentf("postgres: %s, row %d of page %d, column %q (%s): %w", p.label, rows+1, cp.Page+1, p.cols[i].Name, p.cols[i].TypeName, err)
				break
			}
			bytes += int64(len(vals[i])) + 1
		}
		if decodeErr != nil {
			break
		}
		// Keep the ordering values of the row (reusing one buffer).
		lastBuf = lastBuf[:0]
		for j, oi := range q.order {
			v := vals[oi]
			if v == nil {
				decodeErr = errclass.Permanentf("postgres: %s: key column %q is NULL in a row; keyset paging needs non-null keys (choose another key)", p.label, q.orderNames[j])
				break
			}
			lastBuf = append(lastBuf, v...)
		}
		if decodeErr != nil {
			break
		}
		off := 0
		for j, oi := range q.order {
			l := len(vals[oi])
			last[j] = lastBuf[off : off+l : off+l]
			off += l
		}
		rows++
		if bytes >= byteCap || rows >= maxRows {
			full = true
			break
		}
	}
	_, err = rr.Close()
	if err == nil && decodeErr == nil {
		err = pg.Exec(ctx, "COMMIT").Close()
	} else {
		endPage(ctx, pg)
	}
	if decodeErr != nil {
		return sdk.Page{}, decodeErr
	}
	if pgclass.SQLState(err) == sqlstateReadOnly {
		return sdk.Page{}, c.fail(ctx, err, "read page %d of %s: it writes to the database, and a source reads in a read-only transaction (use a query without side effects)", cp.Page+1, p.label)
	}
	if err != nil {
		return sdk.Page{}, c.fail(ctx, err, "read page %d of %s", cp.Page+1, p.label)
	}
	for i, d := range decs {
		if d.nulls > 0 {
			c.warnOnce("inf:"+p.name+p.cols[i].Name, "values that Arrow cannot hold (infinity, NaN) were read as null", "stream", p.name, "column", p.cols[i].Name)
		}
	}
	rec := rb.NewRecordBatch()
	if rows > 0 {
		vb := make([]int64, len(p.cols))
		for i, col := range rec.Columns() {
			switch a := col.(type) {
			case *array.String:
				vb[i] = int64(len(a.ValueBytes()))/rows + 1
			case *array.Binary:
				vb[i] = int64(len(a.ValueBytes()))/rows + 1
			}
		}
		c.mu.Lock()
		p.varBytes = vb
		c.mu.Unlock()
	}

	next := checkpoint{Page: cp.Page + 1, Rows: cp.Rows + rows, Order: q.orderNames, Last: cp.Last, Cursor: cp.Cursor, RowBytes: cp.RowBytes}
	if rows > 0 {
		if p.mode == modeOffset {
			next.Offset = cp.Offset + rows
		} else {
			next.Last = make([][]byte, len(last))
			for i, v := range last {
				next.Last[i] = append([]byte(nil), v...)
			}
		}
		next.RowBytes = max(1, bytes/rows)
		if q.cursorCol >= 0 {
			cv, err := cursorJSON(rec.Column(q.cursorCol), int(rows)-1)
			if err != nil {
				rec.Release()
				return sdk.Page{}, errclass.Permanentf("postgres: cursor column %q: %v", req.CursorField, err)
			}
			next.Cursor = cv
		}
	}
	done := !full && rows < limit
	if done {
		c.endRead(rkey)
	}
	cpBytes, _ := json.Marshal(next)
	return sdk.Page{Records: rec, Checkpoint: cpBytes, Done: done, CursorValue: next.Cursor}, nil
}

// pageQuery is one page's SQL and parameters.
type pageQuery struct {
	sql           string
	params        [][]byte
	oids          []uint32
	formats       []int16
	resultFormats []int16
	// order are the result columns whose values make the checkpoint, and
	// orderNames their names.
	order      []int
	orderNames []string
	// cursorCol is the cursor column's index, or -1.
	cursorCol int
}

func (q *pageQuery) param(v []byte, oid uint32, format int16) string {
	q.params = append(q.params, v)
	q.oids = append(q.oids, oid)
	q.formats = append(q.formats, format)
	return "$" + strconv.Itoa(len(q.params))
}

// buildQuery writes the SELECT of one page (without LIMIT/OFFSET).
func (c *Connector) buildQuery(p *streamPlan, req sdk.ReadRequest, cp checkpoint, cfg *config) (*pageQuery, error) {
	q := &pageQuery{cursorCol: -1}
	var sel strings.Builder
	sel.WriteString("SELECT ")
	for i, col := range p.cols {
		if i > 0 {
			sel.WriteString(", ")
		}
		sel.WriteString(p.alias + "." + pgx.Identifier{col.Name}.Sanitize())
		q.resultFormats = append(q.resultFormats, col.format)
	}
	// Ordering columns: the cursor first (incremental), then the key.
	type ordCol struct {
		expr string
		oid  uint32
		idx  int // result column
		name string
	}
	var ord []ordCol
	var where []string
	if req.CursorField != "" {
		ci := columnIndex(p.cols, req.CursorField)
		if ci < 0 {
			return nil, errclass.Permanentf("postgres: incremental cursor %q is not a column of %s (columns: %s)", req.CursorField, p.label, columnNames(p.cols))
		}
		cc := p.cols[ci]
		if cc.kind == kArray || cc.kind == kJSONB || cc.kind == kBytea || cc.OID == oidJSON {
			return nil, errclass.Permanentf("postgres: column %q (%s) of %s cannot be an incremental cursor; use an integer, numeric, date or timestamp column", cc.Name, cc.TypeName, p.label)
		}
		q.cursorCol = ci
		expr := p.alias + "." + pgx.Identifier{cc.Name}.Sanitize()
		stored, ok, err := cursorText(req.CursorValue)
		if err != nil {
			return nil, errclass.Permanentf("postgres: stored cursor value %s for column %q: %v", req.CursorValue, cc.Name, err)
		}
		if ok {
			op := ">"
			if cfg.CursorInclusive {
				op = ">="
			}
			where = append(where, expr+" "+op+" "+q.param([]byte(stored), cc.OID, 0))
		} else {
			where = append(where, expr+" IS NOT NULL")
		}
		ord = append(ord, ordCol{expr, cc.OID, ci, cc.Name})
	}
	switch p.mode {
	case modeKeyset:
		for _, k := range p.key {
			if k == q.cursorCol {
				continue
			}
			col := p.cols[k]
			ord = append(ord, ordCol{p.alias + "." + pgx.Identifier{col.Name}.Sanitize(), col.OID, k, col.Name})
		}
	case modeCTID:
		sel.WriteString(", " + p.alias + ".ctid")
		q.resultFormats = append(q.resultFormats, 1)
		ord = append(ord, ordCol{p.alias + ".ctid", oidTID, len(p.cols), "ctid"})
	}
	for _, o := range ord {
		q.order = append(q.order, o.idx)
		q.orderNames = append(q.orderNames, o.name)
	}
	if p.mode == modeOffset {
		// Only the cursor (when any) orders by value; it needs no keyset.
		q.order, q.orderNames = nil, nil
	}
	if len(cp.Last) > 0 && p.mode != modeOffset {
		if strings.Join(cp.Order, ",") != strings.Join(q.orderNames, ",") || len(cp.Last) != len(ord) {
			return nil, errclass.Permanentf("postgres: the checkpoint of %s orders by (%s) but the stream now orders by (%s): its key or the incremental cursor changed; read it from the start",
				p.label, strings.Join(cp.Order, ", "), strings.Join(q.orderNames, ", "))
		}
		lhs := make([]string, len(ord))
		rhs := make([]string, len(ord))
		for i, o := range ord {
			lhs[i] = o.expr
			rhs[i] = q.param(cp.Last[i], o.oid, 1)
		}
		where = append(where, "("+strings.Join(lhs, ", ")+") > ("+strings.Join(rhs, ", ")+")")
	}
	sel.WriteString(" FROM " + p.from)
	if len(where) > 0 {
		sel.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	var order []string
	for _, o := range ord {
		order = append(order, o.expr)
	}
	if p.mode == modeOffset {
		order = append(order, p.alias+"::text")
	}
	if len(order) > 0 {
		sel.WriteString(" ORDER BY " + strings.Join(order, ", "))
	}
	q.sql = sel.String()
	return q, nil
}

// estimateRowBytes guesses a row's Arrow size from its columns' types,
// before any row was read.
func estimateRowBytes(cols []*column) int64 {
	var n int64
	for _, c := range cols {
		switch c.kind {
		case kBool:
			n += 2
		case kInt2:
			n += 3
		case kInt4, kFloat4, kDate:
			n += 5
		case kInt8, kFloat8, kTime, kTimestamp, kTimestamptz, kOID:
			n += 9
		case kInterval, kDecimal, kUUID:
			n += 17
		default:
			n += 32
		}
	}
	return max(n, 1)
}

// cursorText turns a stored cursor value (JSON) into the text PostgreSQL
// parses for the column's type. ok is false for no value (nil, null).
func cursorText(raw json.RawMessage) (string, bool, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", false, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, err
	}
	switch x := v.(type) {
	case string:
		return x, true, nil
	case float64:
		return s, true, nil // the number as written (no float rounding)
	case bool:
		return strconv.FormatBool(x), true, nil
	default:
		return "", false, fmt.Errorf("must be a number or a string")
	}
}

// cursorJSON renders row i of a cursor column as the JSON the host stores:
// numbers as numbers, decimals, dates, times and timestamps as strings
// PostgreSQL parses back exactly.
func cursorJSON(a arrow.Array, i int) (json.RawMessage, error) {
	if a.IsNull(i) {
		return nil, fmt.Errorf("the last row's cursor is NULL")
	}
	str := func(s string) (json.RawMessage, error) { return json.Marshal(s) }
	switch x := a.(type) {
	case *array.Int16:
		return json.RawMessage(strconv.FormatInt(int64(x.Value(i)), 10)), nil
	case *array.Int32:
		return json.RawMessage(strconv.FormatInt(int64(x.Value(i)), 10)), nil
	case *array.Int64:
		return json.RawMessage(strconv.FormatInt(x.Value(i), 10)), nil
	case *array.Float32:
		return json.RawMessage(strconv.FormatFloat(float64(x.Value(i)), 'g', -1, 32)), nil
	case *array.Float64:
		return json.RawMessage(strconv.FormatFloat(x.Value(i), 'g', -1, 64)), nil
	case *array.Decimal128:
		return str(x.Value(i).ToString(x.DataType().(*arrow.Decimal128Type).Scale))
	case *array.Date32:
		return str(x.Value(i).ToTime().Format(time.DateOnly))
	case *array.Time64:
		return str(x.Value(i).ToTime(arrow.Microsecond).Format("15:04:05.999999"))
	case *array.Timestamp:
		t := x.Value(i).ToTime(arrow.Microsecond).UTC()
		if x.DataType().(*arrow.TimestampType).TimeZone != "" {
			return str(t.Format("2006-01-02T15:04:05.999999Z07:00"))
		}
		return str(t.Format("2006-01-02T15:04:05.999999"))
	case *array.String:
		return str(x.Value(i))
	default:
		return str(a.ValueStr(i))
	}
}
