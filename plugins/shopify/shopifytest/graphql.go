package shopifytest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
)

var (
	connRe   = regexp.MustCompile(`(\w+)\(first: \$first`)
	parentRe = regexp.MustCompile(`(\w+)\(id: \$id\)`)
	childRe  = regexp.MustCompile(`(\w+)\(first: \$childFirst\)`)
)

// maxCost is Shopify's most expensive allowed query.
const maxCost = 1000

// block returns the text inside the braces that open at or after i.
func block(s string, i int) string {
	open := strings.IndexByte(s[i:], '{')
	if open < 0 {
		return ""
	}
	open += i
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[open+1 : j]
			}
		}
	}
	return ""
}

func (s *Shop) graphql(w http.ResponseWriter, r *http.Request, version string) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errors":"bad JSON: %v"}`, err)
		return
	}
	q := req.Query
	str := func(k string) string { v, _ := req.Variables[k].(string); return v }
	num := func(k string) int { v, _ := req.Variables[k].(float64); return int(v) }

	if strings.Contains(q, "shop { name }") {
		s.answerGraphQL(w, Request{API: "graphql", Root: "shop"}, 1, 1, map[string]any{"shop": map[string]any{"name": "Fake Shop"}})
		return
	}
	m := connRe.FindStringSubmatch(q)
	if m == nil {
		s.gqlError(w, Request{API: "graphql", Root: "?"}, "unsupported query: "+q, "UNSUPPORTED", "")
		return
	}
	conn := m[1]
	root := conn
	parentField, parentID := "", ""
	if pm := parentRe.FindStringSubmatch(q); pm != nil {
		parentField, parentID = pm[1], str("id")
		root = parentField + "." + conn
	} else if strings.Contains(q, "shop { "+conn+"(") {
		root = "shop." + conn
	}
	after, query := str("after"), str("query")
	rq := Request{API: "graphql", Root: root, After: after, Query: query}
	first := num("first")
	if first < 1 || first > 250 {
		s.gqlError(w, rq, fmt.Sprintf("first must be between 1 and 250, not %d", first), "BAD_REQUEST", "")
		return
	}
	// Cost: one point per object in a node, times first; an inline child
	// list costs its own nodes times its first.
	nodesAt := strings.Index(q, "nodes {")
	sel := block(q, nodesAt)
	child, childFirst, childSel := "", 0, ""
	if cm := childRe.FindStringSubmatch(q); cm != nil {
		child, childFirst = cm[1], num("childFirst")
		childSel = block(q, strings.Index(q, cm[0]))
		sel = strings.Replace(sel, childSel, "", 1)
	}
	nodeCost := float64(1 + strings.Count(sel, "{"))
	childCost := float64(1 + strings.Count(childSel, "{"))
	if s.opts.NodeCost > 0 {
		nodeCost, childCost = s.opts.NodeCost, s.opts.NodeCost
	}
	perNode := nodeCost + float64(childFirst)*childCost
	requested := 2 + float64(first)*perNode
	if requested > maxCost {
		s.gqlErrorCost(w, rq, fmt.Sprintf("Query cost is %.0f, which exceeds the single query max cost limit (%d).", requested, maxCost), "MAX_COST_EXCEEDED", requested)
		return
	}
	scopeKey := root
	if parentField != "" {
		scopeKey = parentField + "s"
	}
	if child != "" {
		scopeKey = conn
	}
	if sc := scopes[scopeKey]; !s.allowed(sc) {
		msg := fmt.Sprintf("Access denied for %s field. Required access: `%s` access scope.", conn, sc)
		s.gqlError(w, rq, msg, "ACCESS_DENIED", fmt.Sprintf("`%s` access scope.", sc))
		return
	}
	// The leaky bucket: the requested cost must be available; the
	// difference to the actual cost is given back after the query.
	s.mu.Lock()
	if s.refill() < requested {
		status := s.throttleStatus()
		s.mu.Unlock()
		rq.Throttled = true
		s.hook(rq)
		rq.Status = 200
		s.record(rq)
		writeJSON(w, map[string]any{
			"errors": []any{map[string]any{"message": "Throttled", "extensions": map[string]any{
				"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": map[string]any{"cost": map[string]any{"requestedQueryCost": requested, "actualQueryCost": nil, "throttleStatus": status}},
		})
		return
	}
	s.avail -= requested
	s.mu.Unlock()

	f := parseQuery(query)
	if f.unknownTerm != "" {
		s.gqlError(w, rq, "unsupported search term "+f.unknownTerm, "BAD_REQUEST", "")
		return
	}
	f.byUpdated = strings.Contains(q, "sortKey: UPDATED_AT")
	var pos *position
	if after != "" {
		p, err := decodePos(after)
		if err != nil || (p.Sort == "UPDATED_AT") != f.byUpdated {
			s.gqlError(w, rq, "Invalid cursor for the current pagination sort order.", "BAD_REQUEST", "")
			return
		}
		pos = &p
	}

	s.mu.Lock()
	all, parentFound := s.dataset(root, parentID)
	var nodes []any
	var recs []*record
	more := false
	if parentFound {
		recs, more = page(all, f, pos, first)
	}
	kids := 0
	for _, rec := range recs {
		n := clone(rec.gql)
		if child != "" {
			list := []any{}
			for i, k := range rec.kids[child] {
				if i == childFirst {
					break
				}
				list = append(list, clone(k.gql))
				kids++
			}
			n[child] = list
		}
		nodes = append(nodes, n)
	}
	end := any(nil)
	if len(recs) > 0 {
		cursor := encodePos(posOf(recs[len(recs)-1], f.byUpdated))
		if more && s.rewrite != nil {
			cursor = s.rewrite(root, after, cursor)
		}
		end = cursor
	}
	s.mu.Unlock()
	if nodes == nil {
		nodes = []any{}
	}
	c := map[string]any{"nodes": nodes, "pageInfo": map[string]any{"hasNextPage": more, "endCursor": end}}
	var data map[string]any
	switch {
	case parentField != "" && !parentFound:
		data = map[string]any{parentField: nil}
	case parentField != "":
		data = map[string]any{parentField: map[string]any{conn: c}}
	case strings.HasPrefix(root, "shop."):
		data = map[string]any{"shop": map[string]any{conn: c}}
	default:
		data = map[string]any{conn: c}
	}
	actual := 2 + float64(len(nodes))*nodeCost + float64(kids)*childCost
	rq.Nodes = len(nodes)
	s.answerGraphQL(w, rq, requested, actual, data)
}

// throttleStatus reports the bucket; callers hold s.mu.
func (s *Shop) throttleStatus() map[string]any {
	return map[string]any{"maximumAvailable": s.opts.BucketMax, "currentlyAvailable": math.Floor(s.avail), "restoreRate": s.opts.RestoreRate}
}

// answerGraphQL refunds the unused part of the requested cost and writes
// the data with extensions.cost. The cost was taken already, except for
// the shop query, which takes its one point here.
func (s *Shop) answerGraphQL(w http.ResponseWriter, rq Request, requested, actual float64, data map[string]any) {
	s.hook(rq)
	s.mu.Lock()
	if rq.Root == "shop" {
		s.refill()
		s.avail -= actual
	} else {
		s.avail = math.Min(s.opts.BucketMax, s.avail+requested-actual)
	}
	status := s.throttleStatus()
	s.mu.Unlock()
	rq.Status = 200
	s.record(rq)
	writeJSON(w, map[string]any{
		"data":       data,
		"extensions": map[string]any{"cost": map[string]any{"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}},
	})
}

func (s *Shop) gqlError(w http.ResponseWriter, rq Request, msg, code, required string) {
	s.hook(rq)
	ext := map[string]any{"code": code}
	if required != "" {
		ext["requiredAccess"] = required
		ext["documentation"] = "https://shopify.dev/api/usage/access-scopes"
	}
	s.mu.Lock()
	status := s.throttleStatus()
	s.mu.Unlock()
	rq.Status = 200
	s.record(rq)
	path := []any{}
	if rq.Root != "" {
		path = append(path, strings.Split(rq.Root, ".")[0])
	}
	writeJSON(w, map[string]any{
		"errors":     []any{map[string]any{"message": msg, "locations": []any{map[string]any{"line": 1, "column": 1}}, "path": path, "extensions": ext}},
		"data":       nil,
		"extensions": map[string]any{"cost": map[string]any{"requestedQueryCost": 1, "actualQueryCost": 1, "throttleStatus": status}},
	})
}

func (s *Shop) gqlErrorCost(w http.ResponseWriter, rq Request, msg, code string, cost float64) {
	s.hook(rq)
	rq.Status = 200
	s.record(rq)
	writeJSON(w, map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code, "cost": cost, "maxCost": maxCost}}},
	})
}

// dataset returns the records of a root; for a child connection, the
// parent's children, and whether the parent exists. Callers hold s.mu.
func (s *Shop) dataset(root, parentID string) ([]*record, bool) {
	switch root {
	case "orders":
		return s.orders, true
	case "customers":
		return s.customers, true
	case "products":
		return s.products, true
	case "inventoryItems":
		return s.items, true
	case "locations":
		return s.locations, true
	case "discountNodes":
		return s.discounts, true
	case "collections":
		return append(append([]*record(nil), s.custom...), s.smart...), true
	case "shop.metafields":
		return s.shopMeta, true
	}
	parent, conn, ok := strings.Cut(root, ".")
	if !ok {
		return nil, true
	}
	var parents []*record
	switch parent {
	case "location":
		parents = s.locations
	case "product":
		parents = s.products
	case "order":
		parents = s.orders
	case "customer":
		parents = s.customers
	}
	for _, p := range parents {
		if p.gql["id"] == parentID {
			return p.kids[conn], true
		}
	}
	return nil, false
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(b)
}
