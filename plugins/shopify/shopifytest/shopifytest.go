// Package shopifytest is test support, not for production use: a local
// Shopify Admin API (a fake shop) for tests of the shopify connector and of
// pipelines that read it. It speaks the
// GraphQL Admin API (nodes/pageInfo connections, search queries on
// updated_at and id, sortKey UPDATED_AT, extensions.cost with a real leaky
// bucket of cost points restored per second on the server's clock, and
// THROTTLED, ACCESS_DENIED and MAX_COST_EXCEEDED errors) and the REST Admin
// API (Link headers with page_info, X-Shopify-Shop-Api-Call-Limit from a
// leaky request bucket, 429 with Retry-After, 401 and 403), over a
// generated shop. It counts what it answered so tests can assert on it.
package shopifytest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is the access token the shop accepts unless Options.Token says
// otherwise.
const Token = "shpat_fake_token_0123456789"

// Options shape the shop.
type Options struct {
	// Orders is how many orders the shop has (ids 1..Orders).
	Orders int
	// Empty makes a new shop: no customers, products, inventory,
	// locations, discounts, collections or metafields (orders as Orders
	// says).
	Empty bool
	// Token is the accepted access token; empty means Token.
	Token string
	// Scopes, when not nil, are the token's access scopes; a request for
	// an object whose scope is missing is denied.
	Scopes []string
	// GraphQL bucket: maximum points and points restored per second.
	// Zero means Shopify's standard 2,000 and 100.
	BucketMax, RestoreRate float64
	// NodeCost, when above zero, is the cost of every node instead of
	// Shopify's estimate (one point per object in the selection).
	NodeCost float64
	// REST bucket: size and leak per second. Zero means 40 and 2.
	RESTBucket, RESTLeak float64
	// Addr, when set, is the address to listen on (host:port) instead of
	// a free port of 127.0.0.1; New panics when it cannot listen there.
	Addr string
}

// Request is one request as the shop saw it.
type Request struct {
	// API is "graphql" or "rest".
	API string
	// Root is the connection or endpoint read: "orders",
	// "location.inventoryLevels", "orders.json", ...
	Root string
	// After is the cursor or page_info the request carried.
	After string
	// Query is the GraphQL search query or the REST query string.
	Query string
	// Throttled reports a THROTTLED error or a 429.
	Throttled bool
	// Status is the HTTP status answered.
	Status int
	// Nodes is how many records were returned.
	Nodes int
}

// Shop is the fake shop and its HTTP server.
type Shop struct {
	// Server serves the Admin API; its URL is the connector's endpoint.
	Server *httptest.Server

	opts Options

	mu          sync.Mutex
	avail       float64 // GraphQL bucket level
	availAt     time.Time
	restUsed    float64
	restAt      time.Time
	log         []Request
	otherOK     int
	otherDenied int
	failNext    []int
	onRequest   func(Request)
	rewrite     func(root, after, next string) string

	webhooks []string // subscribed topics (REST webhooks.json)

	orders, customers, products, items, locations, discounts, custom, smart, shopMeta []*record
}

// New starts a shop; it is closed when the test ends (call Close).
func New(opts Options) *Shop {
	if opts.Token == "" {
		opts.Token = Token
	}
	if opts.BucketMax == 0 {
		opts.BucketMax = 2000
	}
	if opts.RestoreRate == 0 {
		opts.RestoreRate = 100
	}
	if opts.RESTBucket == 0 {
		opts.RESTBucket = 40
	}
	if opts.RESTLeak == 0 {
		opts.RESTLeak = 2
	}
	s := &Shop{opts: opts, avail: opts.BucketMax, availAt: time.Now(), restAt: time.Now()}
	for i := 1; i <= opts.Orders; i++ {
		s.orders = append(s.orders, newOrder(int64(i)))
	}
	if !opts.Empty {
		s.customers = customers(30)
		s.products = products(20)
		s.items = inventoryItems(20)
		s.locations = locations(3, 12)
		s.discounts = discounts(8)
		s.custom, s.smart = collections(6)
		for i := int64(1); i <= 9; i++ {
			s.shopMeta = append(s.shopMeta, metafield(100+i, "Shop", 0, base.Add(time.Duration(i)*time.Hour)))
		}
	}
	if opts.Addr == "" {
		s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
		return s
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		panic(fmt.Sprintf("shopifytest: listen on %s: %v", opts.Addr, err))
	}
	s.Server.Listener.Close()
	s.Server.Listener = ln
	s.Server.Start()
	return s
}

// Close stops the server.
func (s *Shop) Close() { s.Server.Close() }

// URL is the endpoint to configure the connector with.
func (s *Shop) URL() string { return s.Server.URL }

// Requests returns a copy of every request answered so far, in order.
func (s *Shop) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Throttled counts the THROTTLED and 429 answers to the connector.
func (s *Shop) Throttled() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Throttled {
			n++
		}
	}
	return n
}

// OnRequest sets a hook called with each request before it is answered
// (outside the shop's lock), e.g. to kill the client mid-request.
func (s *Shop) OnRequest(f func(Request)) {
	s.mu.Lock()
	s.onRequest = f
	s.mu.Unlock()
}

// RewriteCursors sets a function that replaces the next-page cursor the
// shop answers when there is a next page (the GraphQL endCursor, the REST
// page_info of the rel="next" Link): f gets the connection or endpoint
// read (as Request.Root), the cursor the request came with ("" on a first
// page) and the cursor the shop would answer, and returns the one to
// answer. It is called under the shop's lock. Tests use it to make a shop
// that pages in circles.
func (s *Shop) RewriteCursors(f func(root, after, next string) string) {
	s.mu.Lock()
	s.rewrite = f
	s.mu.Unlock()
}

// FailNext makes the next requests answer these HTTP statuses, in order.
func (s *Shop) FailNext(statuses ...int) {
	s.mu.Lock()
	s.failNext = append(s.failNext, statuses...)
	s.mu.Unlock()
}

// Touch gives the orders with these ids updated_at = t.
func (s *Shop) Touch(t time.Time, ids ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.orders[id-1].touch(t)
	}
}

// SubscribeWebhooks adds webhook subscriptions of these topics (listed by
// GET webhooks.json).
func (s *Shop) SubscribeWebhooks(topics ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhooks = append(s.webhooks, topics...)
}

// RemoveWebhook drops the subscription of topic, as Shopify does after a
// subscription kept failing.
func (s *Shop) RemoveWebhook(topic string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.webhooks[:0]
	for _, t := range s.webhooks {
		if t != topic {
			kept = append(kept, t)
		}
	}
	s.webhooks = kept
}

// createWebhook answers POST webhooks.json: {"webhook": {"topic",
// "address", "format"}} adds a subscription (201), as Shopify does; a
// topic already subscribed is 422.
func (s *Shop) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Webhook struct {
			Topic, Address, Format string
		} `json:"webhook"`
	}
	rq := Request{API: "rest", Root: "webhooks.json"}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Webhook.Topic == "" || req.Webhook.Address == "" {
		rq.Status = http.StatusBadRequest
		s.record(rq)
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"errors":{"webhook":"Required parameter missing or invalid"}}`)
		return
	}
	s.mu.Lock()
	for _, t := range s.webhooks {
		if t == req.Webhook.Topic {
			s.mu.Unlock()
			rq.Status = http.StatusUnprocessableEntity
			s.record(rq)
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"errors":{"address":["for this topic has already been taken"]}}`)
			return
		}
	}
	s.webhooks = append(s.webhooks, req.Webhook.Topic)
	id := 1000 + len(s.webhooks) - 1
	s.mu.Unlock()
	rq.Status = http.StatusCreated
	s.record(rq)
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, map[string]any{"webhook": map[string]any{"id": id, "topic": req.Webhook.Topic, "address": req.Webhook.Address, "format": "json"}})
}

// MaxOrderUpdated is the greatest updated_at of the orders.
func (s *Shop) MaxOrderUpdated() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m time.Time
	for _, o := range s.orders {
		if o.updated.After(m) {
			m = o.updated
		}
	}
	return m
}

// OtherClient simulates another app sharing the GraphQL bucket: every
// interval it asks for cost points, which it gets when the bucket holds
// them (and is throttled otherwise). The returned func stops it and
// reports how many of its queries went through and how many were
// throttled.
func (s *Shop) OtherClient(cost float64, every time.Duration) (stop func() (ok, throttled int)) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.mu.Lock()
				if s.refill() >= cost {
					s.avail -= cost
					s.otherOK++
				} else {
					s.otherDenied++
				}
				s.mu.Unlock()
			}
		}
	}()
	return func() (int, int) {
		close(done)
		<-finished
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.otherOK, s.otherDenied
	}
}

// refill brings the GraphQL bucket to now and returns its level. Callers
// hold s.mu.
func (s *Shop) refill() float64 {
	now := time.Now()
	s.avail = math.Min(s.opts.BucketMax, s.avail+s.opts.RestoreRate*now.Sub(s.availAt).Seconds())
	s.availAt = now
	return s.avail
}

func (s *Shop) record(r Request) {
	s.mu.Lock()
	s.log = append(s.log, r)
	s.mu.Unlock()
}

func (s *Shop) hook(r Request) {
	s.mu.Lock()
	f := s.onRequest
	s.mu.Unlock()
	if f != nil {
		f(r)
	}
}

func (s *Shop) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	const prefix = "/admin/api/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.NotFound(w, r)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	version, path, ok := strings.Cut(rest, "/")
	if !ok || !regexp.MustCompile(`^\d{4}-\d{2}$|^unstable$`).MatchString(version) {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.Token {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		s.record(Request{API: apiOf(path), Root: path, Status: 401})
		return
	}
	s.mu.Lock()
	var fail int
	if len(s.failNext) > 0 {
		fail, s.failNext = s.failNext[0], s.failNext[1:]
	}
	s.mu.Unlock()
	if fail != 0 {
		// Log the cursor the failed request carried.
		rq := Request{API: apiOf(path), Root: path, Status: fail, After: r.URL.Query().Get("page_info")}
		if rq.API == "graphql" {
			body, _ := io.ReadAll(r.Body)
			var req struct {
				Variables map[string]any `json:"variables"`
			}
			json.Unmarshal(body, &req)
			rq.After, _ = req.Variables["after"].(string)
		}
		s.hook(rq)
		w.WriteHeader(fail)
		fmt.Fprintf(w, `{"errors":"injected failure %d"}`, fail)
		s.record(rq)
		return
	}
	if path == "webhooks.json" && r.Method == http.MethodPost {
		s.createWebhook(w, r)
		return
	}
	if path == "graphql.json" && r.Method == http.MethodPost {
		s.graphql(w, r, version)
		return
	}
	if r.Method == http.MethodGet && strings.HasSuffix(path, ".json") {
		s.rest(w, r, version, path)
		return
	}
	http.NotFound(w, r)
}

func apiOf(path string) string {
	if path == "graphql.json" {
		return "graphql"
	}
	return "rest"
}

// scopes maps what is read to the access scope it needs.
var scopes = map[string]string{
	"orders": "read_orders", "customers": "read_customers", "products": "read_products", "inventoryItems": "read_inventory",
	"locations": "read_locations", "discountNodes": "read_discounts", "collections": "read_products",
	"orders.json": "read_orders", "customers.json": "read_customers", "products.json": "read_products", "locations.json": "read_locations",
	"inventory_levels.json": "read_inventory", "price_rules.json": "read_price_rules", "custom_collections.json": "read_products",
	"smart_collections.json": "read_products",
}

func (s *Shop) allowed(scope string) bool {
	if scope == "" || s.opts.Scopes == nil {
		return true
	}
	for _, x := range s.opts.Scopes {
		if x == scope {
			return true
		}
	}
	return false
}

// position is where a page starts: after the node with this sort value.
type position struct {
	U    int64  `json:"u"` // updated_at, Unix nanoseconds (sort by UPDATED_AT only)
	ID   int64  `json:"id"`
	Sort string `json:"s"`
	// REST page_info also carries the filters of the first request.
	Q string `json:"q,omitempty"`
}

func encodePos(p position) string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePos(s string) (position, error) {
	var p position
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(b, &p)
}

// filter is a parsed search query or REST filter.
type filter struct {
	updatedAfter *time.Time // strictly after (GraphQL updated_at:>)
	updatedMin   *time.Time // at or after (REST updated_at_min)
	idAfter      int64
	byUpdated    bool
	unknownTerm  string
}

var termRe = regexp.MustCompile(`^(\w+):(>=|>|<=|<)?'?([^']*)'?$`)

func parseQuery(q string) filter {
	var f filter
	for _, term := range strings.Split(q, " AND ") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		m := termRe.FindStringSubmatch(term)
		if m == nil {
			f.unknownTerm = term
			continue
		}
		switch {
		case m[1] == "updated_at" && m[2] == ">":
			t, err := time.Parse(time.RFC3339, m[3])
			if err != nil {
				f.unknownTerm = term
				continue
			}
			f.updatedAfter = &t
		case m[1] == "id" && m[2] == ">":
			n, err := strconv.ParseInt(m[3], 10, 64)
			if err != nil {
				f.unknownTerm = term
				continue
			}
			f.idAfter = n
		default:
			f.unknownTerm = term
		}
	}
	return f
}

// page selects the records after pos under the filter and sort, at most n.
func page(all []*record, f filter, after *position, n int) (out []*record, more bool) {
	var sel []*record
	for _, r := range all {
		if f.updatedAfter != nil && !r.updated.After(*f.updatedAfter) {
			continue
		}
		if f.updatedMin != nil && r.updated.Before(*f.updatedMin) {
			continue
		}
		if r.id <= f.idAfter {
			continue
		}
		sel = append(sel, r)
	}
	less := func(a, b *record) bool { return a.id < b.id }
	if f.byUpdated {
		less = func(a, b *record) bool {
			if !a.updated.Equal(b.updated) {
				return a.updated.Before(b.updated)
			}
			return a.id < b.id
		}
	}
	sort.Slice(sel, func(i, j int) bool { return less(sel[i], sel[j]) })
	if after != nil {
		ref := &record{id: after.ID, updated: time.Unix(0, after.U).UTC()}
		i := sort.Search(len(sel), func(i int) bool { return less(ref, sel[i]) })
		sel = sel[i:]
	}
	if len(sel) > n {
		return sel[:n], true
	}
	return sel, false
}

func posOf(r *record, byUpdated bool) position {
	p := position{ID: r.id, Sort: "ID"}
	if byUpdated {
		p.U, p.Sort = r.updated.UnixNano(), "UPDATED_AT"
	}
	return p
}
