package shopifyconn

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/httplink"
	"github.com/sqlflow/sqlflow-host/sdk/httporigin"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// Version is the connector's version.
const Version = "0.1.0"

// Connector is the shopify source. Its methods may be called from several
// goroutines; a mutex guards its configuration.
type Connector struct {
	logger hclog.Logger

	mu   sync.Mutex
	sess *session
}

// New returns an unconfigured shopify connector logging to logger.
func New(logger hclog.Logger) *Connector {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Connector{logger: logger}
}

var _ sdk.Source = (*Connector)(nil)

// Spec describes the shopify connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "shopify",
		Version:         Version,
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceNetwork,
		Incremental:     true,
		Discover:        true,
		LocationKeys:    []string{"endpoint", "shop_domain", "api"},
		// Shopify limits with leaky buckets whose size and leak rate depend
		// on the plan and the API: REST 40 requests leaking 2/s on standard
		// plans (20/s on Plus), GraphQL cost points (sizes and restore
		// rates vary by plan and API version). The plan's rates are read
		// from responses, not assumed: every response's budget goes back
		// as rate hints (GraphQL throttleStatus, REST
		// X-Shopify-Shop-Api-Call-Limit) and the host's limiter paces from
		// them before the bucket empties. The token bucket here is only a
		// ceiling: 1,200 a minute (Plus's REST leak rate) with a burst of
		// 40 (the smallest bucket), shared per store. Requests had no
		// timeout in the old tool; they get 30 s.
		Resilience: map[string]any{
			"retry.max_attempts":       5,
			"retry.initial_delay":      1,
			"retry.max_delay":          30,
			"retry.backoff_multiplier": 2.0,
			"retry.jitter":             true,

			"circuit_breaker.enabled":           true,
			"circuit_breaker.failure_threshold": 5,
			"circuit_breaker.recovery_timeout":  60,
			"circuit_breaker.success_threshold": 2,
			"timeout":                           30,

			"rate_limit.enabled":                 true,
			"rate_limit.max_requests_per_minute": 1200.0,
			"rate_limit.burst_size":              40,
			"rate_limit.per_host":                true,
			"rate_limit.backpressure_strategy":   "wait",
			// Shared across processes when the run shares limits
			// (run --shared-limits): the quota is the remote API's.
			"rate_limit.shared": true,

			"recovery.enable_connection_recovery": true,
			"recovery.enable_credential_refresh":  true,
			"recovery.recovery_check_interval":    30,
		},
		// The store a connector reads: its per-host limiter is shared by
		// every connector of the same store.
		HostKeys: []string{"endpoint", "shop_domain"},
		// The old tool's retry keys at the connector's top level.
		LegacyRetryKeys: true,
	}
}

// session is one configuration and what it needs to make requests.
type session struct {
	cfg    config
	client *retryablehttp.Client
	// origin is the endpoint's: the only one that gets the access token
	// (the client's CheckRedirect drops it on a redirect elsewhere).
	origin httporigin.Origin
	// shopOrigin is https://<shop>:443, which Shopify's own links name
	// when a proxy at the endpoint forwards to the shop.
	shopOrigin httporigin.Origin
	objects    map[string]*object
	order      []*object

	// inboxOpen is the webhook inbox, opened at the first webhook_events
	// read.
	inboxMu   sync.Mutex
	inboxOpen webhookinbox.Inbox
}

// Configure validates and applies the configuration; it reaches no server.
// Calling it again replaces the configuration.
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, ferrs := parseConfig(raw)
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	s := &session{cfg: cfg, client: httpclass.NewClient(cfg.Timeout), objects: map[string]*object{}}
	s.origin, _ = httporigin.Parse(cfg.Base) // parseConfig checked it
	s.shopOrigin = httporigin.Origin{Scheme: "https", Host: strings.ToLower(cfg.Shop), Port: "443"}
	scope := httporigin.Scope{Origin: s.origin, Headers: []string{tokenHeader}}
	s.client.HTTPClient.CheckRedirect = scope.CheckRedirect
	for _, o := range catalog(cfg.Owner) {
		s.objects[o.Name] = o
		s.order = append(s.order, o)
	}
	c.mu.Lock()
	old := c.sess
	c.sess = s
	c.mu.Unlock()
	if old != nil {
		old.closeInbox()
	}
	return nil, nil
}

func (c *Connector) session() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return nil, errclass.Permanentf("shopify connector is not configured")
	}
	return c.sess, nil
}

// Check asks for the shop's name: it proves the domain, the token and the
// API version.
func (c *Connector) Check(ctx context.Context) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	if s.cfg.REST {
		_, _, _, err := s.get(ctx, "shop.json")
		return err
	}
	_, _, err = s.graphql(ctx, "query { shop { name } }", nil)
	return err
}

// supported reports whether o can be read through the configured API, and
// why not.
func (s *session) supported(o *object) (bool, string) {
	if s.cfg.REST {
		if len(o.REST.Paths) == 0 {
			return false, o.REST.Why
		}
		return true, ""
	}
	return o.GQL.Conn != "", "the GraphQL Admin API has no such list; read it with api: rest"
}

func (s *session) selected(name string) bool {
	return s.cfg.Streams == nil || contains(s.cfg.Streams, name)
}

// Discover lists the objects the configured API can read (those of
// streams/objects when given) with their Arrow schemas, keys and cursor
// columns. It sends no request.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	var out []sdk.Stream
	for _, o := range s.order {
		if ok, _ := s.supported(o); !ok || !s.selected(o.Name) {
			continue
		}
		out = append(out, sdk.Stream{Name: o.Name, Schema: schemaOf(o), PrimaryKey: o.Key, CursorFields: cursorFields(o)})
	}
	if s.cfg.Webhooks != nil {
		out = append(out, webhookStreamInfo(), subscriptionStreamInfo())
	}
	return out, nil
}

// cursorFields are the columns an incremental flow may name: the one
// Shopify filters on first, then updated_at when that is another one.
func cursorFields(o *object) []string {
	var out []string
	if o.FilterField != "" {
		out = append(out, o.FilterField)
	}
	if _, ok := o.column("updated_at"); ok && o.FilterField != "updated_at" {
		out = append(out, "updated_at")
	}
	return out
}

// stream returns the object a read names, or a PERMANENT error saying
// which streams there are.
func (s *session) stream(name string) (*object, error) {
	o, ok := s.objects[name]
	if !ok || !s.selected(name) {
		var names []string
		for _, o := range s.order {
			if ok, _ := s.supported(o); ok && s.selected(o.Name) {
				names = append(names, o.Name)
			}
		}
		if s.cfg.Webhooks != nil {
			names = append(names, WebhookStream, SubscriptionsStream)
		}
		return nil, errclass.Permanentf("shopify source has no stream %q; its streams are %s", name, strings.Join(names, ", "))
	}
	if ok, why := s.supported(o); !ok {
		return nil, errclass.Permanentf("stream %q cannot be read: %s", name, why)
	}
	return o, nil
}

// ReadPage reads one page: one request to Shopify. See the package doc
// for what a checkpoint holds.
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	s, err := c.session()
	if err != nil {
		return sdk.Page{}, err
	}
	if s.cfg.Webhooks != nil {
		switch req.Stream {
		case WebhookStream:
			return s.readInbox(ctx, req)
		case SubscriptionsStream:
			return s.readSubscriptions(ctx)
		}
	}
	o, err := s.stream(req.Stream)
	if err != nil {
		return sdk.Page{}, err
	}
	cp, err := s.checkpoint(o, req)
	if err != nil {
		return sdk.Page{}, err
	}
	// limit caps the rows of the page (the host's MaxRows); requests ask
	// for at most page_size records, and no more than limit.
	limit := math.MaxInt32
	if req.MaxRows > 0 && req.MaxRows < int64(limit) {
		limit = int(req.MaxRows)
	}
	maxRows := min(s.cfg.PageSize, limit)
	if cp.Done {
		rec, _ := buildBatch(o, nil, s.cfg.REST)
		return sdk.Page{Records: rec, Checkpoint: cp.encode(), Done: true}, nil
	}
	u, hints, err := s.fetch(ctx, o, cp, maxRows)
	if err != nil {
		return sdk.Page{RateHints: hints}, fmt.Errorf("stream %q: %w", o.Name, err)
	}
	rows, err := s.keep(o, cp, u.rows)
	if err != nil {
		return sdk.Page{}, err
	}
	next := cp
	next.Parents = append([]parentRef(nil), cp.Parents...)
	if len(rows)-cp.Skip > limit {
		// More rows than the page may hold (an order's children, an
		// unpaged REST list): return a slice and stay at this response.
		rows = rows[cp.Skip : cp.Skip+limit]
		next.Skip = cp.Skip + limit
	} else {
		rows = rows[min(cp.Skip, len(rows)):]
		next.Skip = 0
		u.advance(&next)
		if err := s.followed(o, cp, &next); err != nil {
			return sdk.Page{}, fmt.Errorf("stream %q: %w", o.Name, err)
		}
	}
	rec, err := buildBatch(o, rows, s.cfg.REST)
	if err != nil {
		return sdk.Page{}, err
	}
	page := sdk.Page{Records: rec, RateHints: hints, Done: next.Done}
	if req.CursorField != "" {
		if err := next.track(o, req, rows, s.cfg.REST); err != nil {
			rec.Release()
			return sdk.Page{}, err
		}
		if len(next.Max) > 0 {
			page.CursorValue = next.Max
		}
	}
	page.Checkpoint = next.encode()
	return page, nil
}

// unit is what one request gave: rows, and how the checkpoint moves past
// the response once all its rows are returned.
type unit struct {
	rows    []row
	advance func(cp *checkpoint)
}

// fetch makes the one request the checkpoint calls for.
func (s *session) fetch(ctx context.Context, o *object, cp checkpoint, maxRows int) (unit, *sdk.RateHints, error) {
	switch {
	case o.Shape == shapeTop && !s.cfg.REST:
		return s.gqlTop(ctx, o, cp, maxRows)
	case o.Shape == shapeInline && !s.cfg.REST:
		return s.gqlInline(ctx, o, cp)
	case o.Shape == shapeTop:
		return s.restTop(ctx, o, cp, maxRows)
	case len(cp.Parents) == 0:
		if cp.End {
			return unit{advance: func(cp *checkpoint) { cp.Done = true }}, nil, nil
		}
		return s.parents(ctx, o, cp)
	case s.cfg.REST:
		return s.restChildren(ctx, o, cp, maxRows)
	default:
		return s.gqlChildren(ctx, o, cp, maxRows)
	}
}

// connection is a GraphQL connection's nodes and page info.
type connection struct {
	nodes     []any
	hasNext   bool
	endCursor string
	missing   bool // an object on the path was null (a deleted parent)
}

// dig finds the connection at a dotted path in a response's data.
func dig(data map[string]any, path string) (connection, error) {
	var cur any = data
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return connection{}, errclass.Permanentf("the response has no %q", path)
		}
		cur, ok = m[seg]
		if !ok {
			return connection{}, errclass.Permanentf("the response has no %q", path)
		}
		if cur == nil {
			return connection{missing: true}, nil
		}
	}
	m, _ := cur.(map[string]any)
	nodes, _ := m["nodes"].([]any)
	pi, _ := m["pageInfo"].(map[string]any)
	c := connection{nodes: nodes}
	c.hasNext, _ = pi["hasNextPage"].(bool)
	c.endCursor, _ = pi["endCursor"].(string)
	if c.hasNext && c.endCursor == "" {
		return c, errclass.Permanentf("%q says there is a next page but gives no endCursor", path)
	}
	return c, nil
}

// connQuery writes a GraphQL query of one connection at path (dotted; the
// arguments go on the last segment) with the node selection sel.
func connQuery(path, sel string, filter bool, sortKey string, extraVars string) string {
	segs := strings.Split(path, ".")
	var b strings.Builder
	b.WriteString("query ($first: Int!, $after: String")
	if filter {
		b.WriteString(", $query: String")
	}
	b.WriteString(extraVars)
	b.WriteString(") { ")
	for i, seg := range segs {
		b.WriteString(seg)
		if i == len(segs)-1 {
			b.WriteString("(first: $first, after: $after")
			if filter {
				b.WriteString(", query: $query")
			}
			if sortKey != "" {
				b.WriteString(", sortKey: " + sortKey)
			}
			b.WriteString(")")
		} else if i == 0 && strings.Contains(extraVars, "$id") {
			b.WriteString("(id: $id)")
		}
		b.WriteString(" { ")
	}
	b.WriteString("nodes { " + sel + " } pageInfo { hasNextPage endCursor }")
	for range segs {
		b.WriteString(" }")
	}
	b.WriteString(" }")
	return b.String()
}

func (s *session) vars(first int, after, query string, filter bool) map[string]any {
	v := map[string]any{"first": first, "after": nil}
	if after != "" {
		v["after"] = after
	}
	if filter {
		if query != "" {
			v["query"] = query
		} else {
			v["query"] = nil
		}
	}
	return v
}

// firstFor is a page size for nodes of the given cost: page_size, capped
// by maxRows and by Shopify's 1,000-point query maximum.
func firstFor(pageSize, maxRows, nodeCost int) int {
	n := min(pageSize, maxRows, (maxQueryCost-2)/max(nodeCost, 1))
	return max(n, 1)
}

func advanceConn(c connection) func(*checkpoint) {
	return func(cp *checkpoint) {
		if c.hasNext {
			cp.After = c.endCursor
		} else {
			cp.Done = true
		}
	}
}

func (s *session) gqlTop(ctx context.Context, o *object, cp checkpoint, maxRows int) (unit, *sdk.RateHints, error) {
	sel, cost := nodeSelection(o)
	q := connQuery(o.GQL.Conn, sel, o.GQL.Filter, o.GQL.SortKey, "")
	data, hints, err := s.graphql(ctx, q, s.vars(firstFor(s.cfg.PageSize, maxRows, cost), cp.After, cp.Query, o.GQL.Filter))
	if err != nil {
		return unit{}, hints, err
	}
	c, err := dig(data, o.GQL.Conn)
	if err != nil {
		return unit{}, hints, err
	}
	rows := make([]row, len(c.nodes))
	for i, n := range c.nodes {
		rows[i] = row{rec: n}
	}
	return unit{rows: rows, advance: advanceConn(c)}, hints, nil
}

// gqlInline reads a page of parents with each one's children (an order's
// transactions, refunds or fulfillments) in one query. A parent with more
// children than child_page_size fails the page rather than losing some.
func (s *session) gqlInline(ctx context.Context, o *object, cp checkpoint) (unit, *sdk.RateHints, error) {
	p := s.objects[o.Parent]
	childSel, childCost := nodeSelection(o)
	childFirst := min(s.cfg.ChildPageSize+1, maxPageSize)
	sel := parentFields(o) + " " + o.GQL.Conn + "(first: $childFirst) { " + childSel + " }"
	q := connQuery(p.GQL.Conn, sel, p.GQL.Filter, p.GQL.SortKey, ", $childFirst: Int!")
	// The parent node, its child list (counted as an object, to be on the
	// safe side of Shopify's estimate) and the children.
	first := firstFor(s.cfg.PageSize, maxPageSize, 2+childFirst*childCost)
	vars := s.vars(first, cp.After, cp.Query, p.GQL.Filter)
	vars["childFirst"] = childFirst
	data, hints, err := s.graphql(ctx, q, vars)
	if err != nil {
		return unit{}, hints, err
	}
	c, err := dig(data, p.GQL.Conn)
	if err != nil {
		return unit{}, hints, err
	}
	var rows []row
	for _, n := range c.nodes {
		pm, _ := n.(map[string]any)
		kids, _ := pm[o.GQL.Conn].([]any)
		if len(kids) > s.cfg.ChildPageSize || len(kids) >= maxPageSize {
			id, _ := pm["id"].(string)
			return unit{}, hints, errclass.Permanentf("%s %s has more than %d %s, more than one query reads: raise child_page_size (at most %d) or read %s with api: rest, which pages them",
				strings.TrimSuffix(p.Name, "s"), id, min(s.cfg.ChildPageSize, maxPageSize-1), o.Name, maxPageSize-1, o.Name)
		}
		for _, k := range kids {
			rows = append(rows, row{rec: k, parent: n})
		}
	}
	return unit{rows: rows, advance: advanceConn(c)}, hints, nil
}

// parents reads the next page of parents (ids and updated_at only) into
// the checkpoint; the page itself has no rows.
func (s *session) parents(ctx context.Context, o *object, cp checkpoint) (unit, *sdk.RateHints, error) {
	p := s.objects[o.Parent]
	var refs []parentRef
	var hints *sdk.RateHints
	var more bool
	var after string
	if s.cfg.REST {
		pq := url.Values{}
		if cp.After == "" {
			for k, v := range p.REST.Params {
				pq.Set(k, v)
			}
			for k, v := range cp.Params {
				pq.Set(k, v)
			}
			pq.Set("fields", "id,updated_at")
		} else {
			pq.Set("page_info", cp.After)
		}
		pq.Set("limit", fmt.Sprint(maxPageSize))
		body, next, h, err := s.get(ctx, o.ParentREST+"?"+pq.Encode())
		hints = h
		if err != nil {
			return unit{}, hints, err
		}
		list, _ := body[o.ParentRESTKey].([]any)
		for _, x := range list {
			m, _ := x.(map[string]any)
			id, err := toInt(m["id"])
			if err != nil {
				return unit{}, hints, errclass.Permanentf("%s: a parent without a numeric id", o.ParentREST)
			}
			u, _ := m["updated_at"].(string)
			refs = append(refs, parentRef{ID: fmt.Sprint(id), UpdatedAt: u})
		}
		more, after = next != "", next
	} else {
		q := connQuery(o.ParentGQL, "id updatedAt", p.GQL.Filter, p.GQL.SortKey, "")
		data, h, err := s.graphql(ctx, q, s.vars(maxPageSize, cp.After, cp.Query, p.GQL.Filter))
		hints = h
		if err != nil {
			return unit{}, hints, err
		}
		c, err := dig(data, o.ParentGQL)
		if err != nil {
			return unit{}, hints, err
		}
		for _, n := range c.nodes {
			m, _ := n.(map[string]any)
			id, _ := m["id"].(string)
			u, _ := m["updatedAt"].(string)
			refs = append(refs, parentRef{ID: id, UpdatedAt: u})
		}
		more, after = c.hasNext, c.endCursor
	}
	return unit{advance: func(cp *checkpoint) {
		cp.Parents, cp.ChildAfter = refs, ""
		cp.After, cp.End = after, !more
		if len(refs) == 0 && !more {
			cp.Done = true
		}
	}}, hints, nil
}

// advanceChild moves past a child page: to the parent's next child page,
// else to the next parent, else (no parent left and no parent page after)
// to the end.
func advanceChild(more bool, next string) func(*checkpoint) {
	return func(cp *checkpoint) {
		if more {
			cp.ChildAfter = next
			return
		}
		cp.Parents, cp.ChildAfter = cp.Parents[1:], ""
		if len(cp.Parents) == 0 && cp.End {
			cp.Done = true
		}
	}
}

func (s *session) gqlChildren(ctx context.Context, o *object, cp checkpoint, maxRows int) (unit, *sdk.RateHints, error) {
	ref := cp.Parents[0]
	sel, cost := nodeSelection(o)
	q := connQuery(o.GQL.Conn, sel, false, "", ", $id: ID!")
	vars := s.vars(firstFor(s.cfg.PageSize, maxRows, cost), cp.ChildAfter, "", false)
	vars["id"] = ref.ID
	data, hints, err := s.graphql(ctx, q, vars)
	if err != nil {
		return unit{}, hints, err
	}
	c, err := dig(data, o.GQL.Conn)
	if err != nil {
		return unit{}, hints, err
	}
	parent := map[string]any{"id": ref.ID, "updatedAt": ref.UpdatedAt}
	rows := make([]row, len(c.nodes))
	for i, n := range c.nodes {
		rows[i] = row{rec: n, parent: parent}
	}
	return unit{rows: rows, advance: advanceChild(c.hasNext, c.endCursor)}, hints, nil
}

func (s *session) restTop(ctx context.Context, o *object, cp checkpoint, maxRows int) (unit, *sdk.RateHints, error) {
	limit := min(s.cfg.PageSize, maxRows)
	q := url.Values{}
	if cp.After == "" {
		for k, v := range o.REST.Params {
			q.Set(k, v)
		}
		for k, v := range cp.Params {
			q.Set(k, v)
		}
	} else {
		// Shopify allows only limit (and fields) beside page_info.
		q.Set("page_info", cp.After)
	}
	q.Set("limit", fmt.Sprint(limit))
	phase := min(cp.Phase, len(o.REST.Paths)-1)
	body, next, hints, err := s.get(ctx, o.REST.Paths[phase]+"?"+q.Encode())
	if err != nil {
		return unit{}, hints, err
	}
	rows, err := restRows(o, body, phase, nil)
	if err != nil {
		return unit{}, hints, err
	}
	return unit{rows: rows, advance: func(cp *checkpoint) {
		switch {
		case next != "":
			cp.After = next
		case phase+1 < len(o.REST.Paths):
			cp.Phase, cp.After = phase+1, ""
		default:
			cp.Done = true
		}
	}}, hints, nil
}

func (s *session) restChildren(ctx context.Context, o *object, cp checkpoint, maxRows int) (unit, *sdk.RateHints, error) {
	ref := cp.Parents[0]
	q := url.Values{}
	if cp.ChildAfter == "" {
		for k, v := range o.REST.Params {
			q.Set(k, strings.ReplaceAll(v, "{id}", ref.ID))
		}
	} else {
		q.Set("page_info", cp.ChildAfter)
	}
	q.Set("limit", fmt.Sprint(min(s.cfg.PageSize, maxRows)))
	path := strings.ReplaceAll(o.REST.Paths[0], "{id}", url.PathEscape(ref.ID))
	body, next, hints, err := s.get(ctx, path+"?"+q.Encode())
	if err != nil {
		return unit{}, hints, err
	}
	parent := map[string]any{"id": json.Number(ref.ID), "updated_at": ref.UpdatedAt}
	rows, err := restRows(o, body, 0, parent)
	if err != nil {
		return unit{}, hints, err
	}
	return unit{rows: rows, advance: advanceChild(next != "", next)}, hints, nil
}

// restRows reads the records of a REST response.
func restRows(o *object, body map[string]any, phase int, parent any) ([]row, error) {
	key := o.REST.Keys[phase]
	v, ok := body[key]
	if !ok {
		return nil, errclass.Permanentf("the response has no %q member", key)
	}
	list, _ := v.([]any)
	rows := make([]row, 0, len(list))
	for _, x := range list {
		if len(o.REST.Tags) > phase {
			if m, ok := x.(map[string]any); ok {
				m["_kind"] = o.REST.Tags[phase]
			}
		}
		rows = append(rows, row{rec: x, parent: parent})
	}
	return rows, nil
}

// nextPageInfo returns the page_info of the rel="next" Link, unchanged, or
// "" when there is no next page. The connector sends the page_info to its
// own endpoint, never to the link's URL; still, a link (resolved against
// the request's URL, answered) on another origin than the endpoint's or
// the shop's own (https://<shop>) is refused: Shopify's links name the
// shop, so such an answer did not come from the shop as configured.
func (s *session) nextPageInfo(h http.Header, answered *url.URL) (string, error) {
	link := httplink.Next(h)
	if link == "" {
		return "", nil
	}
	u, err := answered.Parse(link)
	if err != nil {
		return "", fmt.Errorf("the next-page link %q does not parse: %w", httpclass.RedactURL(link), err)
	}
	if o := httporigin.Of(u); o != s.origin && o != s.shopOrigin {
		return "", fmt.Errorf("the next-page link leads to %s, neither the endpoint's origin %s nor the shop's %s: "+
			"Shopify's links name the shop itself, so this answer did not come from the shop as configured and the read stops "+
			"(the access token is only ever sent to %s); check endpoint, shop_domain and any proxy in between",
			o, s.origin, s.shopOrigin, s.origin)
	}
	pi := u.Query().Get("page_info")
	if pi == "" {
		return "", fmt.Errorf("the next-page link %q has no page_info", link)
	}
	return pi, nil
}
