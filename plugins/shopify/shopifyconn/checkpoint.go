package shopifyconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/pageloop"
)

// checkpointVersion is the version of the checkpoint's JSON; a checkpoint
// of another version is refused.
const checkpointVersion = 1

// parentRef is a parent whose children are still to read.
type parentRef struct {
	// ID is the parent's GraphQL global id, or its REST numeric id.
	ID string `json:"id"`
	// UpdatedAt is the parent's updated_at, which its children's rows
	// carry (order_updated_at).
	UpdatedAt string `json:"u,omitempty"`
}

// checkpoint is the position of a read, as JSON so that it survives
// restarts and stays readable in the state file. Shopify's own cursors
// (GraphQL endCursor, REST page_info) are kept unchanged: reading from a
// checkpoint repeats exactly the request that failed.
type checkpoint struct {
	V      int    `json:"v"`
	API    string `json:"api"`
	Stream string `json:"stream"`
	// Query is the GraphQL search query of the read's (parent) connection,
	// fixed at the first page: a cursor is only valid with its query.
	Query string `json:"q,omitempty"`
	// Params are the REST parameters of the first (parent) page request.
	Params map[string]string `json:"p,omitempty"`
	// Phase is the REST endpoint being read (collections: 0 custom,
	// 1 smart).
	Phase int `json:"phase,omitempty"`
	// After is the cursor of the page to read (top streams and inline
	// children), or of the next parent page (per-parent children): a
	// GraphQL endCursor or a REST page_info. Empty: the first page.
	After string `json:"after,omitempty"`
	// End reports that no parent page follows the one in Parents.
	End bool `json:"end,omitempty"`
	// Parents are the parents of the current parent page whose children
	// are not all read yet; the first is being read, from ChildAfter.
	Parents    []parentRef `json:"parents,omitempty"`
	ChildAfter string      `json:"child_after,omitempty"`
	// Skip is how many rows of the response at this position were
	// returned already (a response larger than the host's page).
	Skip int `json:"skip,omitempty"`
	// ClientField and ClientMin filter rows in the plugin when Shopify
	// cannot (a cursor column without a server-side filter): rows whose
	// ClientField is not above ClientMin are dropped. MinID does the same
	// for since_id.
	ClientField string          `json:"cf,omitempty"`
	ClientMin   json.RawMessage `json:"cmin,omitempty"`
	MinID       int64           `json:"min_id,omitempty"`
	// Max is the greatest cursor value read so far.
	Max json.RawMessage `json:"max,omitempty"`
	// Loop and ChildLoop remember (as hashes) the cursors the read
	// followed: of the list being paged (After) and of the current
	// parent's children (ChildAfter). A cursor Shopify gives again fails
	// the read instead of paging in circles; in the checkpoint, a
	// restarted plugin keeps them. See sdk/pageloop.
	Loop      pageloop.Guard `json:"loop,omitzero"`
	ChildLoop pageloop.Guard `json:"child_loop,omitzero"`
	// Done marks the position after the last page.
	Done bool `json:"done,omitempty"`
}

func (cp checkpoint) encode() []byte {
	b, _ := json.Marshal(cp)
	return b
}

func (s *session) api() string {
	if s.cfg.REST {
		return "rest"
	}
	return "graphql"
}

// checkpoint decodes req's checkpoint, or makes the first one.
func (s *session) checkpoint(o *object, req sdk.ReadRequest) (checkpoint, error) {
	if len(bytes.TrimSpace(req.Checkpoint)) == 0 {
		return s.initial(o, req)
	}
	var cp checkpoint
	if err := json.Unmarshal(req.Checkpoint, &cp); err != nil || cp.V != checkpointVersion {
		return cp, errclass.Permanentf("checkpoint %q is not one of this shopify connector's (version %d)", req.Checkpoint, checkpointVersion)
	}
	if cp.Stream != o.Name || cp.API != s.api() {
		return cp, errclass.Permanentf("the checkpoint is of stream %q read through the %s API, not of stream %q through the %s API; start the read afresh",
			cp.Stream, cp.API, o.Name, s.api())
	}
	return cp, nil
}

// initial makes the checkpoint of a read's first page, fixing its filter:
//
//   - an incremental read on the stream's FilterField (updated_at, or
//     order_updated_at for an order's children) becomes Shopify's own
//     filter on the (parent) list: `updated_at:>'T'` sorted by
//     UPDATED_AT (GraphQL), or updated_at_min=T&order=updated_at asc
//     (REST), where T is the stored cursor minus incremental_overlap;
//   - an incremental read on another column, or on a list Shopify cannot
//     filter, filters rows in the plugin (the same overlap applies to
//     timestamps);
//   - since_id becomes `id:>N` (GraphQL) or since_id=N (REST) on lists
//     that take it, and a filter in the plugin otherwise.
func (s *session) initial(o *object, req sdk.ReadRequest) (checkpoint, error) {
	cp := checkpoint{V: checkpointVersion, API: s.api(), Stream: o.Name}
	filterGQL, filterREST := o.GQL.Filter, o.REST.Filter
	if o.Shape != shapeTop {
		p := s.objects[o.Parent]
		filterGQL, filterREST = p.GQL.Filter, p.REST.Filter
	}
	canFilter := filterGQL
	if s.cfg.REST {
		canFilter = filterREST
	}
	var terms []string
	params := map[string]string{}
	if req.CursorField != "" {
		col, err := cursorColumn(o, req.CursorField)
		if err != nil {
			return cp, err
		}
		stored, err := typedCursor(col, req.CursorValue)
		if err != nil {
			return cp, err
		}
		switch v := stored.(type) {
		case time.Time:
			lower := v.Add(-s.cfg.Overlap).UTC().Truncate(time.Second)
			if req.CursorField == o.FilterField && canFilter {
				if s.cfg.REST {
					params["updated_at_min"] = lower.Format(time.RFC3339)
					params["order"] = "updated_at asc"
				} else {
					terms = append(terms, fmt.Sprintf("updated_at:>'%s'", lower.Format(time.RFC3339)))
				}
			} else {
				cp.ClientField, cp.ClientMin = col.Name, encodeCursor(lower)
			}
		case int64:
			cp.ClientField, cp.ClientMin = col.Name, encodeCursor(v)
		}
	}
	if id := s.cfg.SinceID; id > 0 {
		switch {
		case canFilter && s.cfg.REST:
			params["since_id"] = strconv.FormatInt(id, 10)
		case canFilter:
			terms = append(terms, fmt.Sprintf("id:>%d", id))
		default:
			if _, ok := o.column("id"); !ok {
				return cp, errclass.Permanentf("since_id cannot apply to stream %q: its rows have no id of their own; leave since_id out for this source", o.Name)
			}
			cp.MinID = id
		}
	}
	cp.Query = strings.Join(terms, " AND ")
	if len(params) > 0 {
		cp.Params = params
	}
	return cp, nil
}

// cursorColumn returns the column an incremental read names, which must be
// a timestamp or an integer.
func cursorColumn(o *object, name string) (column, error) {
	col, ok := o.column(name)
	if !ok || (col.Type != tTime && col.Type != tInt) {
		var usable []string
		for _, c := range o.Columns {
			if c.Type == tTime || c.Type == tInt {
				usable = append(usable, c.Name)
			}
		}
		return col, errclass.Permanentf("stream %q has no timestamp or integer column %q to read incrementally; use %s (Shopify filters on %s itself)",
			o.Name, name, strings.Join(usable, ", "), firstOr(cursorFields(o), "none"))
	}
	return col, nil
}

func firstOr(list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[0]
}

// typedCursor reads a stored cursor (JSON) as col's type: a time.Time, an
// int64, or nil for none.
func typedCursor(col column, raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, errclass.Permanentf("the stored cursor %s of %q is not JSON: %v", raw, col.Name, err)
	}
	switch col.Type {
	case tTime:
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, errclass.Permanentf("the stored cursor %s of %q is not an RFC 3339 date-time", raw, col.Name)
		}
		return t.UTC(), nil
	default:
		n, err := toInt(v)
		if err != nil {
			return nil, errclass.Permanentf("the stored cursor %s of %q is not an integer", raw, col.Name)
		}
		return n, nil
	}
}

func encodeCursor(v any) json.RawMessage {
	switch x := v.(type) {
	case time.Time:
		b, _ := json.Marshal(x.UTC().Format(time.RFC3339Nano))
		return b
	case int64:
		return json.RawMessage(strconv.FormatInt(x, 10))
	}
	return nil
}

// greater reports a > b for two cursor values of one type; nil is below
// everything.
func greater(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return !ok || x.After(y)
	case int64:
		y, ok := b.(int64)
		return !ok || x > y
	}
	return false
}

// keep drops the rows the plugin filters itself (ClientField, MinID).
func (s *session) keep(o *object, cp checkpoint, rows []row) ([]row, error) {
	if cp.ClientField == "" && cp.MinID == 0 {
		return rows, nil
	}
	var (
		col column
		min any
	)
	if cp.ClientField != "" {
		var err error
		if col, err = cursorColumn(o, cp.ClientField); err != nil {
			return nil, err
		}
		if min, err = typedCursor(col, cp.ClientMin); err != nil {
			return nil, err
		}
	}
	idCol, _ := o.column("id")
	out := rows[:0:0]
	for _, r := range rows {
		if cp.ClientField != "" {
			v, err := value(col, r, s.cfg.REST)
			if err != nil {
				return nil, errclass.Permanentf("stream %q: %v", o.Name, err)
			}
			if v == nil || !greater(v, min) {
				continue
			}
		}
		if cp.MinID > 0 {
			v, err := value(idCol, r, s.cfg.REST)
			if err != nil {
				return nil, errclass.Permanentf("stream %q: %v", o.Name, err)
			}
			if n, ok := v.(int64); !ok || n <= cp.MinID {
				continue
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// track raises cp.Max to the greatest cursor value of rows. Once a row was
// read, Max is never below the stored cursor, so the overlap never moves a
// flow's cursor back.
func (cp *checkpoint) track(o *object, req sdk.ReadRequest, rows []row, rest bool) error {
	col, err := cursorColumn(o, req.CursorField)
	if err != nil {
		return err
	}
	best, err := typedCursor(col, cp.Max)
	if err != nil {
		return err
	}
	for _, r := range rows {
		v, err := value(col, r, rest)
		if err != nil {
			return errclass.Permanentf("stream %q: %v", o.Name, err)
		}
		if v != nil && greater(v, best) {
			best = v
		}
	}
	if best == nil {
		return nil
	}
	if stored, err := typedCursor(col, req.CursorValue); err == nil && stored != nil && greater(stored, best) {
		best = stored
	}
	cp.Max = encodeCursor(best)
	return nil
}

// followed checks the cursor the read follows next, which u.advance just
// set in next, against the cursors the same list gave before: Shopify
// repeating an endCursor or page_info (a bug, a proxy replaying answers)
// would otherwise page forever. A new list (the next REST phase, the next
// parent's children, a new page of parents' children) starts a new guard.
func (s *session) followed(o *object, cp checkpoint, next *checkpoint) error {
	if next.Done {
		return nil
	}
	switch {
	case o.Shape == shapeTop || (o.Shape == shapeInline && !s.cfg.REST):
		if next.Phase != cp.Phase {
			next.Loop = pageloop.Guard{}
			return nil
		}
		return visitCursor(&next.Loop, next.After, "the "+o.Name)
	case len(cp.Parents) == 0:
		// A page of parents was read; their children start afresh.
		next.ChildLoop = pageloop.Guard{}
		if next.End {
			return nil
		}
		return visitCursor(&next.Loop, next.After, "the "+o.Parent+" whose "+o.Name+" are read")
	default:
		// A page of the first parent's children.
		if len(next.Parents) != len(cp.Parents) {
			next.ChildLoop = pageloop.Guard{}
			return nil
		}
		return visitCursor(&next.ChildLoop, next.ChildAfter, fmt.Sprintf("the %s of %s %s", o.Name, strings.TrimSuffix(o.Parent, "s"), cp.Parents[0].ID))
	}
}

// visitCursor records that the next page of a list is read at cursor; a
// cursor the list gave before is a PERMANENT error naming both pages. The
// list's first page is read without a cursor, so the first cursor is page
// 2's.
func visitCursor(g *pageloop.Guard, cursor, list string) error {
	if g.Pages == 0 {
		g.Start(1)
	}
	if earlier, loops := g.Visit(cursor); loops {
		shown := cursor
		if len(shown) > 80 {
			shown = shown[:80] + "…"
		}
		return errclass.Permanentf("Shopify's cursor for page %d of %s, %q, is the one page %d was read with: the pages go round in circles, so stopping would lose the rest and going on would never end",
			g.Pages+1, list, shown, earlier)
	}
	return nil
}
