package sheetsconn_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// front stands in front of the fake Sheets API as another origin: it
// records the requests it got and passes them on, unless redirect names
// where to send them (a 307, keeping the method).
type front struct {
	srv      *httptest.Server
	redirect func(r *http.Request) string

	mu   sync.Mutex
	seen []*http.Request
}

func newFront(t *testing.T, api string) *front {
	f := &front{}
	target, _ := url.Parse(api)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r)
		f.mu.Unlock()
		if f.redirect != nil {
			if loc := f.redirect(r); loc != "" {
				http.Redirect(w, r, loc, http.StatusTemporaryRedirect)
				return
			}
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/moved")
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *front) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.seen...)
}

// TestRedirectToAnotherOriginDropsCredentials: the endpoint redirects to
// another origin (the same IP on another port); the request arrives there
// without the bearer token or the API key (the connector's transport
// added them to every request, redirect hops included), so the API behind
// it refuses the call. A redirect within the endpoint's origin keeps them.
func TestRedirectToAnotherOriginDropsCredentials(t *testing.T) {
	const key = "AIzaSyOriginKey1234"
	for _, auth := range []string{"service account", "api key"} {
		t.Run(auth, func(t *testing.T) {
			f := newFixture(t, orders())
			f.srv.AddAPIKey(key)
			f.ss.Public = true
			other := newFront(t, f.srv.URL)
			fr := newFront(t, f.srv.URL)
			fr.redirect = func(r *http.Request) string {
				if strings.HasPrefix(r.URL.Path, "/moved") {
					return ""
				}
				return other.srv.URL + r.URL.RequestURI()
			}
			extra := map[string]any{"endpoint": fr.srv.URL}
			if auth == "api key" {
				extra["credentials_file"], extra["api_key"] = nil, key
			}
			c := configure(t, f.config("Orders", extra))
			if err := c.Check(ctx(t)); err == nil {
				t.Fatal("the check passed through a redirect to another origin: the credentials went along")
			}
			seen := other.requests()
			if len(seen) == 0 {
				t.Fatal("the other origin saw no request")
			}
			for _, r := range seen {
				if v := r.Header.Get("Authorization") + r.Header.Get("X-Goog-Api-Key"); v != "" {
					t.Fatalf("the other origin received credentials: %q", v)
				}
			}

			// Within the endpoint's origin they go along.
			fr.redirect = func(r *http.Request) string {
				if strings.HasPrefix(r.URL.Path, "/moved") {
					return ""
				}
				return "/moved" + r.URL.RequestURI()
			}
			c = configure(t, f.config("Orders", extra))
			if err := c.Check(ctx(t)); err != nil {
				t.Fatalf("a redirect within the origin: %v", err)
			}
		})
	}
}
