package httporigin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/httporigin"
)

func TestOf(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"https://api.example.com/v1/items?page=2", "https://api.example.com:443"},
		{"https://API.Example.COM:443/x", "https://api.example.com:443"},
		{"HTTP://api.example.com", "http://api.example.com:80"},
		{"http://bob:pw@127.0.0.1:8080/x?api_key=k#f", "http://127.0.0.1:8080"},
		{"https://[::1]:8443/x", "https://[::1]:8443"},
		{"https://[::1]/x", "https://[::1]:443"},
		{"/v1/items?after=2", "(no origin)"},
		{"mailto:bob@example.com", "(no origin)"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := httporigin.Of(u).String(); got != tt.want {
			t.Errorf("Of(%q) = %s, want %s", tt.url, got, tt.want)
		}
	}
	same := func(a, b string) bool {
		oa, err1 := httporigin.Parse(a)
		ub, err2 := url.Parse(b)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return oa.Contains(ub)
	}
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"https://api.example.com", "https://api.example.com:443/next", true},
		{"http://127.0.0.1:80/", "http://127.0.0.1/x", true},
		{"https://api.example.com", "http://api.example.com/", false},       // scheme
		{"https://api.example.com", "https://api.example.com:8443/", false}, // port
		{"https://api.example.com", "https://eu.api.example.com/", false},   // a subdomain is another host
		{"http://127.0.0.1:8080", "http://localhost:8080/", false},          // a name is not its address
		{"https://api.example.com", "/relative", false},                     // no origin
		{"https://api.example.com", "https://api.example.com.evil.test/", false},
	} {
		if got := same(tt.a, tt.b); got != tt.same {
			t.Errorf("%s contains %s: %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
	if _, err := httporigin.Parse("/no/host"); err == nil {
		t.Error("Parse of a relative URL: no error")
	}
}

// recorder is a server that records the requests it gets and answers 200,
// or what redirect says for a path.
type recorder struct {
	srv      *httptest.Server
	redirect map[string]string // path → Location

	mu   sync.Mutex
	seen []*http.Request
}

func newRecorder(t *testing.T, tls bool) *recorder {
	r := &recorder{redirect: map[string]string{}}
	if tls {
		r.srv = httptest.NewTLSServer(r)
	} else {
		r.srv = httptest.NewServer(r)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.seen = append(r.seen, req)
	loc, ok := r.redirect[req.URL.Path]
	r.mu.Unlock()
	if ok {
		http.Redirect(w, req, loc, http.StatusFound)
		return
	}
	w.Write([]byte("ok"))
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.seen...)
}

// carried lists the credentials a request arrived with.
func carried(r *http.Request) []string {
	var out []string
	for _, h := range []string{"Authorization", "Cookie", "X-Api-Key", "Referer"} {
		if v := r.Header.Get(h); v != "" {
			out = append(out, h+": "+v)
		}
	}
	if v := r.URL.Query().Get("api_key"); v != "" {
		out = append(out, "api_key="+v)
	}
	return out
}

// client returns a client of the scope of origin, trusting the TLS test
// servers' certificates.
func client(origin string, tlsFrom *httptest.Server) *http.Client {
	o, err := httporigin.Parse(origin)
	if err != nil {
		panic(err)
	}
	scope := httporigin.Scope{Origin: o, Headers: []string{"X-API-Key"}, Params: []string{"api_key"}}
	c := &http.Client{CheckRedirect: scope.CheckRedirect}
	if tlsFrom != nil {
		c.Transport = tlsFrom.Client().Transport
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u+"?api_key=KEY-in-query&a=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer TOKEN-123")
	req.Header.Set("Cookie", "session=COOKIE-1")
	req.Header.Set("X-API-Key", "KEY-in-header")
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	return resp, err
}

// TestCheckRedirect follows redirects between two loopback servers (two
// origins) and checks what the second one received.
func TestCheckRedirect(t *testing.T) {
	t.Run("same origin keeps the credentials", func(t *testing.T) {
		a := newRecorder(t, false)
		a.redirect["/start"] = "/moved?api_key=KEY-in-query"
		if _, err := get(t, client(a.srv.URL, nil), a.srv.URL+"/start"); err != nil {
			t.Fatal(err)
		}
		seen := a.requests()
		if len(seen) != 2 || len(carried(seen[1])) != 5 {
			t.Fatalf("the same-origin hop carried %v, want the four credentials and the Referer", carried(seen[len(seen)-1]))
		}
	})
	t.Run("same IP, another port", func(t *testing.T) {
		a, b := newRecorder(t, false), newRecorder(t, false)
		// b.srv.URL is http://127.0.0.1:<other port>, like a.srv.URL.
		a.redirect["/start"] = b.srv.URL + "/landed?api_key=KEY-in-query&b=2"
		if _, err := get(t, client(a.srv.URL, nil), a.srv.URL+"/start"); err != nil {
			t.Fatal(err)
		}
		seen := b.requests()
		if len(seen) != 1 {
			t.Fatalf("b saw %d requests", len(seen))
		}
		if c := carried(seen[0]); len(c) > 0 {
			t.Fatalf("the hop to another port carried %v", c)
		}
		if seen[0].URL.Query().Get("b") != "2" {
			t.Fatalf("the hop lost its other parameters: %s", seen[0].URL)
		}
		if c := carried(a.requests()[0]); len(c) != 4 {
			t.Fatalf("the first request carried only %v", c)
		}
	})
	t.Run("another host", func(t *testing.T) {
		a, b := newRecorder(t, false), newRecorder(t, false)
		// The first request goes to localhost: another host name than b's
		// 127.0.0.1 (net/http drops Authorization here, but not X-API-Key).
		start := strings.Replace(a.srv.URL, "127.0.0.1", "localhost", 1)
		a.redirect["/start"] = b.srv.URL + "/landed"
		if _, err := get(t, client(start, nil), start+"/start"); err != nil {
			t.Fatal(err)
		}
		seen := b.requests()
		if len(seen) != 1 || len(carried(seen[0])) > 0 {
			t.Fatalf("b saw %d requests, the first carrying %v", len(seen), carried(seen[0]))
		}
	})
	t.Run("userinfo in the location is not sent", func(t *testing.T) {
		a, b := newRecorder(t, false), newRecorder(t, false)
		a.redirect["/start"] = strings.Replace(b.srv.URL, "http://", "http://bob:pw@", 1) + "/landed"
		if _, err := get(t, client(a.srv.URL, nil), a.srv.URL+"/start"); err != nil {
			t.Fatal(err)
		}
		if seen := b.requests(); len(seen) != 1 || len(carried(seen[0])) > 0 {
			t.Fatalf("b saw %v", carried(seen[0]))
		}
	})
	t.Run("a chain that comes back carries nothing", func(t *testing.T) {
		a, b := newRecorder(t, false), newRecorder(t, false)
		a.redirect["/start"] = b.srv.URL + "/bounce"
		b.redirect["/bounce"] = a.srv.URL + "/back?api_key=KEY-in-query"
		if _, err := get(t, client(a.srv.URL, nil), a.srv.URL+"/start"); err != nil {
			t.Fatal(err)
		}
		seen := a.requests()
		if len(seen) != 2 {
			t.Fatalf("a saw %d requests", len(seen))
		}
		if c := carried(seen[1]); len(c) > 0 {
			t.Fatalf("the hop back to the origin through b carried %v", c)
		}
	})
	t.Run("https to http is refused", func(t *testing.T) {
		a, b := newRecorder(t, true), newRecorder(t, false)
		// Same host, same port number would be impossible; the scheme
		// alone makes the downgrade.
		a.redirect["/start"] = b.srv.URL + "/plain"
		_, err := get(t, client(a.srv.URL, a.srv), a.srv.URL+"/start")
		if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "leaves https for plain http") ||
			!strings.Contains(err.Error(), httporigin.Of(mustURL(a.srv.URL)).String()) || !strings.Contains(err.Error(), httporigin.Of(mustURL(b.srv.URL)).String()) {
			t.Fatalf("err = %v (%v)", err, errclass.Of(err))
		}
		if n := len(b.requests()); n != 0 {
			t.Fatalf("the http server saw %d requests", n)
		}
	})
	t.Run("http to https to another origin", func(t *testing.T) {
		a, b := newRecorder(t, false), newRecorder(t, true)
		a.redirect["/start"] = b.srv.URL + "/secure"
		if _, err := get(t, client(a.srv.URL, b.srv), a.srv.URL+"/start"); err != nil {
			t.Fatal(err)
		}
		if seen := b.requests(); len(seen) != 1 || len(carried(seen[0])) > 0 {
			t.Fatalf("b saw %d requests: %v", len(seen), carried(seen[0]))
		}
	})
	t.Run("ten redirects at most", func(t *testing.T) {
		a := newRecorder(t, false)
		a.redirect["/start"] = "/start"
		_, err := get(t, client(a.srv.URL, nil), a.srv.URL+"/start")
		if err == nil || !strings.HasSuffix(err.Error(), "stopped after 10 redirects") {
			t.Fatalf("err = %v", err)
		}
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestAllowsAndStrip(t *testing.T) {
	o, _ := httporigin.Parse("https://api.example.com")
	scope := httporigin.Scope{Origin: o, Headers: []string{"x-shopify-access-token"}, Params: []string{"key"}}
	req, _ := http.NewRequest(http.MethodGet, "https://u:p@api.example.com:443/x?key=K&a=1", nil)
	if !scope.Allows(req) {
		t.Fatal("a request to the origin is not allowed")
	}
	// A hop reached through another origin is not allowed, even on the origin.
	other, _ := http.NewRequest(http.MethodGet, "https://cdn.example.com/x", nil)
	hop, _ := http.NewRequest(http.MethodGet, "https://api.example.com/y", nil)
	hop.Response = &http.Response{Request: other}
	if scope.Allows(hop) {
		t.Fatal("a hop after another origin is allowed")
	}
	req.Header.Set("Authorization", "Bearer T")
	req.Header.Set("X-Shopify-Access-Token", "shpat_1")
	req.Header.Set("Cookie", "c=1")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Referer", "https://api.example.com/x?key=K")
	scope.Strip(req)
	if len(req.Header) != 1 || req.Header.Get("Accept") == "" {
		t.Fatalf("headers after Strip: %v", req.Header)
	}
	if req.URL.String() != "https://api.example.com:443/x?a=1" {
		t.Fatalf("URL after Strip: %s", req.URL)
	}
}
