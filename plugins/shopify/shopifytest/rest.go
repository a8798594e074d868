package shopifytest

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// restLeak brings the REST bucket to now; callers hold s.mu.
func (s *Shop) restLeak() {
	now := time.Now()
	s.restUsed = math.Max(0, s.restUsed-s.opts.RESTLeak*now.Sub(s.restAt).Seconds())
	s.restAt = now
}

func (s *Shop) callLimit() string {
	return fmt.Sprintf("%d/%d", int(math.Ceil(s.restUsed)), int(s.opts.RESTBucket))
}

// RESTUse fills the REST bucket by n requests of another client.
func (s *Shop) RESTUse(n float64) {
	s.mu.Lock()
	s.restLeak()
	s.restUsed = math.Min(s.opts.RESTBucket, s.restUsed+n)
	s.mu.Unlock()
}

var childPaths = map[string]string{"transactions.json": kidTransactions, "refunds.json": kidRefunds, "fulfillments.json": kidFulfillments, "metafields.json": kidMetafields}

func (s *Shop) rest(w http.ResponseWriter, r *http.Request, version, path string) {
	q := r.URL.Query()
	pageInfo := q.Get("page_info")
	rq := Request{API: "rest", Root: path, After: pageInfo, Query: r.URL.RawQuery}

	// The leaky bucket: one request each, leaking RESTLeak a second.
	s.mu.Lock()
	s.restLeak()
	if s.restUsed+1 > s.opts.RESTBucket {
		wait := (s.restUsed + 1 - s.opts.RESTBucket) / s.opts.RESTLeak
		w.Header().Set("Retry-After", strconv.FormatFloat(math.Ceil(wait*10)/10, 'f', 1, 64))
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", s.callLimit())
		s.mu.Unlock()
		rq.Throttled, rq.Status = true, http.StatusTooManyRequests
		s.hook(rq)
		s.record(rq)
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(w, `{"errors":"Exceeded %g calls per second for api client. Reduce request rates to resume uninterrupted service."}`, s.opts.RESTLeak)
		return
	}
	s.restUsed++
	w.Header().Set("X-Shopify-Shop-Api-Call-Limit", s.callLimit())
	s.mu.Unlock()

	bad := func(status int, msg string) {
		s.hook(rq)
		rq.Status = status
		s.record(rq)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":%q}`, msg)
	}
	if path == "webhooks.json" {
		s.hook(rq)
		rq.Status = 200
		s.mu.Lock()
		subs := make([]map[string]any, 0, len(s.webhooks))
		for i, t := range s.webhooks {
			subs = append(subs, map[string]any{"id": 1000 + i, "topic": t, "address": "https://example.com/webhooks",
				"format": "json", "api_version": version, "created_at": ts(base), "updated_at": ts(base)})
		}
		s.mu.Unlock()
		rq.Nodes = len(subs)
		s.record(rq)
		writeJSON(w, map[string]any{"webhooks": subs})
		return
	}
	if path == "shop.json" {
		s.hook(rq)
		rq.Status = 200
		s.record(rq)
		writeJSON(w, map[string]any{"shop": map[string]any{"name": "Fake Shop"}})
		return
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 250 {
			bad(http.StatusBadRequest, "limit must be from 1 to 250")
			return
		}
		limit = n
	}
	if pageInfo != "" {
		for k := range q {
			if k != "page_info" && k != "limit" && k != "fields" {
				bad(http.StatusBadRequest, "page_info cannot be passed with other parameters than limit and fields; got "+k)
				return
			}
		}
	}
	var (
		key     string
		all     []*record
		paged   = true
		scope   = scopes[path]
		found   = true
		segs    = strings.Split(path, "/")
		parentN int64
	)
	s.mu.Lock()
	switch {
	case path == "orders.json":
		key, all = "orders", s.orders
	case path == "customers.json":
		key, all = "customers", s.customers
	case path == "products.json":
		key, all = "products", s.products
	case path == "locations.json":
		key, all = "locations", s.locations
	case path == "price_rules.json":
		key, all = "price_rules", s.discounts
	case path == "custom_collections.json":
		key, all = "custom_collections", s.custom
	case path == "smart_collections.json":
		key, all = "smart_collections", s.smart
	case path == "metafields.json":
		key, all = "metafields", s.shopMeta
	case path == "inventory_levels.json":
		key, scope = "inventory_levels", scopes[path]
		ids := q.Get("location_ids")
		if pageInfo != "" {
			if p, err := decodePos(pageInfo); err == nil {
				v, _ := url.ParseQuery(p.Q)
				ids = v.Get("location_ids")
			}
		}
		found = false
		for _, l := range s.locations {
			if strconv.FormatInt(l.id, 10) == ids {
				all, found = l.kids[kidLevels], true
			}
		}
	case len(segs) == 3 && childPaths[segs[2]] != "":
		key = strings.TrimSuffix(segs[2], ".json")
		n, _ := strconv.ParseInt(segs[1], 10, 64)
		parentN = n
		var parents []*record
		switch segs[0] {
		case "orders":
			parents, scope = s.orders, "read_orders"
		case "products":
			parents, scope = s.products, "read_products"
		case "customers":
			parents, scope = s.customers, "read_customers"
		}
		found = false
		for _, p := range parents {
			if p.id == parentN {
				all, found = p.kids[childPaths[segs[2]]], true
			}
		}
		paged = key != "transactions" // Shopify returns every transaction at once
	default:
		s.mu.Unlock()
		bad(http.StatusNotFound, "Not Found")
		return
	}
	s.mu.Unlock()
	if !s.allowed(scope) {
		bad(http.StatusForbidden, fmt.Sprintf("[API] This action requires merchant approval for %s scope.", scope))
		return
	}
	if !found {
		bad(http.StatusNotFound, "Not Found")
		return
	}

	// Filters come from the first request, or from the page_info.
	filterQ := q
	var pos *position
	if pageInfo != "" {
		p, err := decodePos(pageInfo)
		if err != nil {
			bad(http.StatusBadRequest, "page_info is invalid")
			return
		}
		pos = &p
		filterQ, _ = url.ParseQuery(p.Q)
	}
	var f filter
	if v := filterQ.Get("updated_at_min"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad(http.StatusBadRequest, "updated_at_min is invalid")
			return
		}
		f.updatedMin = &t
	}
	if v := filterQ.Get("since_id"); v != "" {
		f.idAfter, _ = strconv.ParseInt(v, 10, 64)
	}
	f.byUpdated = filterQ.Get("order") == "updated_at asc"
	if !paged {
		limit = 1 << 30
	}
	s.mu.Lock()
	recs, more := page(all, f, pos, limit)
	list := make([]any, 0, len(recs))
	fields := q.Get("fields")
	if pageInfo != "" {
		v, _ := url.ParseQuery(pos.Q)
		fields = v.Get("fields")
	}
	for _, rec := range recs {
		m := clone(rec.rest)
		if fields != "" {
			keep := map[string]any{}
			for _, k := range strings.Split(fields, ",") {
				keep[k] = m[k]
			}
			m = keep
		}
		list = append(list, m)
	}
	s.mu.Unlock()
	if more && paged {
		p := posOf(recs[len(recs)-1], f.byUpdated)
		keep := url.Values{}
		for k, v := range filterQ {
			if k != "limit" && k != "page_info" {
				keep[k] = v
			}
		}
		p.Q = keep.Encode()
		cursor := encodePos(p)
		s.mu.Lock()
		if s.rewrite != nil {
			cursor = s.rewrite(path, pageInfo, cursor)
		}
		s.mu.Unlock()
		next := fmt.Sprintf("http://%s/admin/api/%s/%s?limit=%d&page_info=%s", r.Host, version, path, limit, cursor)
		link := fmt.Sprintf(`<%s>; rel="next"`, next)
		if pageInfo != "" {
			link = fmt.Sprintf(`<http://%s/admin/api/%s/%s?limit=%d&page_info=previous>; rel="previous", `, r.Host, version, path, limit) + link
		}
		w.Header().Set("Link", link)
	}
	rq.Nodes = len(list)
	s.hook(rq)
	rq.Status = 200
	s.record(rq)
	writeJSON(w, map[string]any{key: list})
}
