package restconn_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// loopAPI serves pages named by a position p (0 is the first page,
// requested without one) whose next page is next(p), or none when next
// returns -1, in one pagination style: cursor (the token "t<p>" in
// meta.next), next_url (a relative URL in "next", with an access_token
// parameter a message must not show), link_header (an absolute URL in a
// Link header). It counts requests.
type loopAPI struct {
	srv      *httptest.Server
	style    string
	next     func(p int) int
	requests atomic.Int64
}

func newLoopAPI(t *testing.T, style string, next func(int) int) *loopAPI {
	a := &loopAPI{style: style, next: next}
	a.srv = httptest.NewServer(a)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *loopAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	q := r.URL.Query()
	p := 0
	if v := q.Get("after"); v != "" {
		p, _ = strconv.Atoi(v)
	}
	if v := q.Get("cursor"); v != "" {
		p, _ = strconv.Atoi(strings.TrimPrefix(v, "t"))
	}
	n := a.next(p)
	body := map[string]any{"data": []any{map[string]any{"id": p}}}
	if n >= 0 {
		switch a.style {
		case "cursor":
			body["meta"] = map[string]any{"next": "t" + strconv.Itoa(n)}
		case "next_url":
			// Parameters in another order than the connector writes
			// them, and a secret the message must not show.
			body["next"] = fmt.Sprintf("/v1/items?after=%d&access_token=S3CR3T-in-link&a=1", n)
			if n == 0 {
				body["next"] = "/v1/items?a=1" // the first page, written differently
			}
		case "link_header":
			link := fmt.Sprintf("%s/v1/items?a=1&after=%d", a.srv.URL, n)
			if n == 0 {
				link = a.srv.URL + "/v1/items?a=1"
			}
			w.Header().Set("Link", "<"+link+`>; rel="next"`)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// config returns the source configuration of the API's style; the URL
// carries user info and an api_key goes in the query, neither of which a
// message may show.
func (a *loopAPI) config() map[string]any {
	u := strings.Replace(a.srv.URL, "http://", "http://loopuser:L00pPassw0rd@", 1) + "/v1/items?a=1"
	cfg := map[string]any{"url": u, "data_path": "data",
		"auth": map[string]any{"type": "api_key", "in": "query", "key_name": "api_key", "key_value": "K3Y-value-123"}}
	switch a.style {
	case "cursor":
		cfg["pagination"] = map[string]any{"type": "cursor", "next_token_path": "meta.next"}
	default:
		cfg["pagination"] = map[string]any{"type": a.style}
	}
	return cfg
}

// readFresh reads the stream to its end or first error, each page with a
// newly configured connector from the previous page's checkpoint (a plugin
// restarted between every two pages), and returns the pages read and the
// error.
func readFresh(t *testing.T, cfg map[string]any, maxPages int) (int, error) {
	t.Helper()
	req := sdk.ReadRequest{Stream: "items"}
	for n := 0; n < maxPages; n++ {
		p, err := configure(t, cfg).ReadPage(t.Context(), req)
		if err != nil {
			return n, err
		}
		if p.Records != nil {
			p.Records.Release()
		}
		if p.Done {
			return n + 1, nil
		}
		req.Checkpoint = p.Checkpoint
	}
	t.Fatalf("no end and no error after %d pages", maxPages)
	return 0, nil
}

// TestPaginationLoops serves, in every style that follows what the server
// gives (cursor token, next URL in the body, Link header), positions that
// come back: to the first page, to the page just read, between two pages,
// and round a cycle of 40 pages (longer than the guard's window of exact
// hashes). Each read fails PERMANENT at the first page whose next position
// was read before (or, for the long cycle, within the bound the guard
// promises), naming the page numbers and the position, without user info,
// api_key or secret-looking parameters, with every page read by a fresh
// connector from the checkpoint. A read whose positions never repeat ends
// normally.
func TestPaginationLoops(t *testing.T) {
	cycles := []struct {
		name string
		next func(p int) int
		// fails is the page whose next position repeats (0: none);
		// earlier the page it repeats.
		fails, earlier int
	}{
		{"back to the first page", func(p int) int { return map[int]int{0: 1, 1: 2, 2: 0}[p] }, 3, 1},
		{"the page itself", func(p int) int { return map[int]int{0: 1, 1: 1}[p] }, 2, 2},
		{"two pages alternating", func(p int) int { return map[int]int{0: 1, 1: 2, 2: 3, 3: 2}[p] }, 4, 3},
		{"a cycle of 40 pages", func(p int) int {
			if p >= 40 {
				return 1
			}
			return p + 1
		}, -1, 2},
		{"no loop", func(p int) int {
			if p >= 60 {
				return -1
			}
			return p + 1
		}, 0, 0},
	}
	for _, style := range []string{"cursor", "next_url", "link_header"} {
		for _, c := range cycles {
			t.Run(style+"/"+c.name, func(t *testing.T) {
				api := newLoopAPI(t, style, c.next)
				pages, err := readFresh(t, api.config(), 1000)
				if c.fails == 0 {
					if err != nil || pages != 61 {
						t.Fatalf("%d pages, %v", pages, err)
					}
					return
				}
				if errclass.Of(err) != errclass.Permanent || err == nil || !strings.Contains(err.Error(), "pagination loops") {
					t.Fatalf("%d pages, %v (%v)", pages, err, errclass.Of(err))
				}
				msg := err.Error()
				for _, secret := range []string{"L00pPassw0rd", "loopuser", "K3Y-value-123", "S3CR3T-in-link"} {
					if strings.Contains(msg, secret) {
						t.Errorf("the message shows %q: %s", secret, msg)
					}
				}
				fails, earlier := c.fails, c.earlier
				if style == "cursor" && c.name == "back to the first page" {
					// A token cannot name the first page (read without
					// one): "t0" is a new position, and the loop shows
					// one page later.
					fails, earlier = 4, 2
				}
				if fails > 0 {
					want := fmt.Sprintf("of page %d", fails)
					if !strings.Contains(msg, want) || !strings.Contains(msg, fmt.Sprintf("page %d", earlier)) || pages != fails-1 {
						t.Errorf("after %d pages: %s; want the error at page %d naming page %d", pages, msg, fails, earlier)
					}
				} else if pages > 2*40+40 {
					t.Errorf("the 40-page cycle was caught after %d pages, later than the guard's bound", pages)
				}
				if got := api.requests.Load(); got != int64(pages+1) {
					t.Errorf("%d requests for %d pages and the failing one", got, pages)
				}
				t.Logf("%s", msg)
			})
		}
	}
}

// TestPageStylesNeedMaxPages: page and offset pagination never revisit a
// position, but an API that ignores the page parameter and answers a
// different body each time (a changing timestamp) would never end; max_pages
// bounds it with a PERMANENT error.
func TestPageStylesNeedMaxPages(t *testing.T) {
	var n atomic.Int64
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `[{"id": 1, "served": %d}]`, n.Add(1))
	})
	for _, typ := range []string{"page", "offset"} {
		_, pages, err := readAll(t, configure(t, map[string]any{"url": url, "pagination": map[string]any{"type": typ, "max_pages": 50}}), sdk.ReadRequest{Stream: "items"})
		if errclass.Of(err) != errclass.Permanent || len(pages) != 50 || !strings.Contains(err.Error(), "more than pagination.max_pages (50) pages") {
			t.Fatalf("%s: %d pages, %v", typ, len(pages), err)
		}
	}
}
