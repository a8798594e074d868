package restconn_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/httporigin"
)

// The credentials of the tests below; none may reach another origin.
const (
	originToken    = "tok-origin-123456"
	originPassword = "pw-origin-123456"
	originKey      = "key-origin-123456"
	originCustom   = "custom-origin-123456"
	originCookie   = "cookie-origin-123456"
)

// originAuth is one way of sending credentials, and the check the API
// makes of them.
type originAuth struct {
	name string
	// cfg is merged into the source's configuration; "url_userinfo" puts
	// user:password into the url.
	cfg map[string]any
	ok  func(r *http.Request) bool
}

// originAuths are the auth types whose credentials must stay on the
// origin; tokenURL is the OAuth2 token endpoint's URL.
func originAuths(tokenURL string) []originAuth {
	return []originAuth{
		{"bearer", map[string]any{"auth": map[string]any{"type": "bearer", "token": originToken}}, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer "+originToken
		}},
		{"basic", map[string]any{"auth": map[string]any{"type": "basic", "username": "ann", "password": originPassword}}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "ann" && p == originPassword
		}},
		{"api_key header", map[string]any{"auth": map[string]any{"type": "api_key", "key_value": originKey}}, func(r *http.Request) bool {
			return r.Header.Get("X-API-Key") == originKey
		}},
		{"api_key query", map[string]any{"auth": map[string]any{"type": "api_key", "key_name": "api_key", "key_value": originKey, "in": "query"}}, func(r *http.Request) bool {
			return r.URL.Query().Get("api_key") == originKey
		}},
		{"oauth2", map[string]any{"auth": map[string]any{"type": "oauth2", "token_url": tokenURL, "client_id": "cid", "client_secret": "the-client-secret"}}, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer "+originToken
		}},
		{"headers", map[string]any{"headers": map[string]any{"X-Custom-Auth": originCustom, "Cookie": "session=" + originCookie, "Accept": "application/json"}}, func(r *http.Request) bool {
			return r.Header.Get("X-Custom-Auth") == originCustom && r.Header.Get("Cookie") == "session="+originCookie
		}},
		{"url userinfo", map[string]any{"url_userinfo": "ann:" + originPassword}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "ann" && p == originPassword
		}},
	}
}

// leaked lists the credentials of the tests that r carries: any
// Authorization, a known secret in any header or in the URL.
func leaked(r *http.Request) []string {
	var out []string
	if v := r.Header.Get("Authorization"); v != "" {
		out = append(out, "Authorization: "+v)
	}
	for name, vs := range r.Header {
		for _, v := range vs {
			for _, sec := range []string{originToken, originPassword, originKey, originCustom, originCookie} {
				if strings.Contains(v, sec) && name != "Authorization" {
					out = append(out, name+": "+v)
				}
			}
		}
	}
	for _, sec := range []string{originToken, originPassword, originKey, originCustom, originCookie} {
		if strings.Contains(r.URL.String(), sec) {
			out = append(out, "URL "+r.URL.String())
		}
	}
	return out
}

// originTokenServer issues originToken to client cid.
func originTokenServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != "cid" || secret != "the-client-secret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, originToken)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token"
}

// originServer is one origin of a test: it records requests and answers
// with handle.
type originServer struct {
	srv    *httptest.Server
	handle func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	seen []*http.Request
}

func newOriginServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *originServer {
	s := &originServer{handle: handle}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r)
		s.mu.Unlock()
		s.handle(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *originServer) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.seen...)
}

func (s *originServer) origin() string { return httporigin.Of(mustParse(s.srv.URL)).String() }

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

// page answers records ids in the style's body, with next as the next
// link ("" for none).
func page(w http.ResponseWriter, style string, next string, ids ...int) {
	recs := []any{}
	for _, id := range ids {
		recs = append(recs, map[string]any{"id": id})
	}
	w.Header().Set("Content-Type", "application/json")
	if style == "link_header" {
		if next != "" {
			w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
		}
		json.NewEncoder(w).Encode(recs)
		return
	}
	body := map[string]any{"results": recs, "next": nil}
	if next != "" {
		body["next"] = next
	}
	json.NewEncoder(w).Encode(body)
}

// sourceConfig is the configuration of a source reading url with auth
// (and the pagination style), plus extra.
func sourceConfig(rawURL, style string, auth originAuth, extra map[string]any) map[string]any {
	cfg := map[string]any{"url": rawURL, "pagination": map[string]any{"type": style}}
	if style == "next_url" {
		cfg["data_path"] = "results"
	}
	for k, v := range auth.cfg {
		if k == "url_userinfo" {
			cfg["url"] = strings.Replace(rawURL, "http://", "http://"+v.(string)+"@", 1)
			continue
		}
		cfg[k] = v
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// TestCrossOriginNextLinkRefused: a next link (next_url in the body, or a
// Link header) to another origin, here the same IP on another port, fails
// the read PERMANENT, naming both origins and the key that allows it;
// the other origin sees no request at all. A link to the same origin
// written absolutely carries the credentials.
func TestCrossOriginNextLinkRefused(t *testing.T) {
	tokens := originTokenServer(t)
	for _, style := range []string{"next_url", "link_header"} {
		for _, auth := range originAuths(tokens) {
			t.Run(style+"/"+auth.name, func(t *testing.T) {
				other := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) { page(w, style, "", 4) })
				var api *originServer
				api = newOriginServer(t, func(w http.ResponseWriter, r *http.Request) {
					if !auth.ok(r) {
						http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
						return
					}
					if r.URL.Query().Get("after") == "" {
						// Same origin, written absolutely: followed, with the credentials.
						page(w, style, api.srv.URL+"/v1/items?after=1", 1)
						return
					}
					page(w, style, other.srv.URL+"/v1/items?after=3", 2, 3)
				})
				c := configure(t, sourceConfig(api.srv.URL+"/v1/items", style, auth, nil))
				rows, _, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
				if errclass.Of(err) != errclass.Permanent {
					t.Fatalf("read %d rows, err %v (%v); want PERMANENT", len(rows), err, errclass.Of(err))
				}
				msg := err.Error()
				for _, want := range []string{other.origin(), api.origin(), "allow_cross_origin_pagination: true", "page 2"} {
					if !strings.Contains(msg, want) {
						t.Errorf("the message lacks %q: %s", want, msg)
					}
				}
				for _, sec := range []string{originToken, originPassword, originKey, originCustom, originCookie, "the-client-secret"} {
					if strings.Contains(msg, sec) {
						t.Errorf("the message shows a secret: %s", msg)
					}
				}
				if n := len(other.requests()); n != 0 {
					t.Fatalf("the other origin saw %d requests: %v", n, leaked(other.requests()[0]))
				}
				if n := len(api.requests()); n != 2 {
					t.Fatalf("the API saw %d requests, want 2", n)
				}
			})
		}
	}
}

// TestCrossOriginNextLinkAllowed: with allow_cross_origin_pagination the
// link is followed, and the other origin gets no credential of any kind;
// the configured origin gets them on every request.
func TestCrossOriginNextLinkAllowed(t *testing.T) {
	tokens := originTokenServer(t)
	for _, style := range []string{"next_url", "link_header"} {
		for _, auth := range originAuths(tokens) {
			t.Run(style+"/"+auth.name, func(t *testing.T) {
				other := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) { page(w, style, "", 4) })
				api := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) {
					if !auth.ok(r) {
						http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
						return
					}
					// An api key the API echoes into the link must not go along.
					next := other.srv.URL + "/v1/items?after=3"
					if k := r.URL.Query().Get("api_key"); k != "" {
						next += "&api_key=" + k
					}
					page(w, style, next, 1, 2, 3)
				})
				c := configure(t, sourceConfig(api.srv.URL+"/v1/items", style, auth, map[string]any{"allow_cross_origin_pagination": true}))
				rows, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
				if err != nil {
					t.Fatal(err)
				}
				wantIDs(t, rows, 1, 4)
				seen := other.requests()
				if len(seen) != 1 {
					t.Fatalf("the other origin saw %d requests", len(seen))
				}
				if l := leaked(seen[0]); len(l) > 0 {
					t.Fatalf("the other origin received credentials: %v", l)
				}
				if seen[0].URL.Query().Get("after") != "3" || seen[0].Header.Get("Accept") != "application/json" {
					t.Fatalf("the other origin's request lost its parameters or Accept: %s %v", seen[0].URL, seen[0].Header)
				}
				for _, p := range pages {
					if l := leakedText(string(p.Checkpoint)); l != "" {
						t.Fatalf("a checkpoint holds %s: %s", l, p.Checkpoint)
					}
				}
			})
		}
	}
}

func leakedText(s string) string {
	for _, sec := range []string{originToken, originPassword, originKey, originCustom, originCookie} {
		if strings.Contains(s, sec) {
			return sec
		}
	}
	return ""
}

// TestCrossOriginDigestChallengeNotAnswered: a digest challenge from
// another origin is not answered with the user's credentials.
func TestCrossOriginDigestChallengeNotAnswered(t *testing.T) {
	d := &digestServer{alg: "SHA-256", realm: "api", user: "ann", pass: originPassword, lastNC: map[string]string{}, expired: map[string]bool{}}
	other := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) { d.check(w, r) })
	api := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) {
		if d.check(w, r) {
			page(w, "next_url", other.srv.URL+"/v1/items?after=1", 1)
		}
	})
	c := configure(t, map[string]any{"url": api.srv.URL + "/v1/items", "data_path": "results", "pagination": map[string]any{"type": "next_url"},
		"auth": map[string]any{"type": "digest", "username": "ann", "password": originPassword}, "allow_cross_origin_pagination": true})
	_, _, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v (%v), want the other origin's 401, PERMANENT", err, errclass.Of(err))
	}
	seen := other.requests()
	if len(seen) != 1 || seen[0].Header.Get("Authorization") != "" {
		t.Fatalf("the other origin saw %d requests, the last with %q", len(seen), seen[len(seen)-1].Header.Get("Authorization"))
	}
}

// TestRedirectToAnotherOriginDropsCredentials: a 302 from the API to the
// same IP on another port, or to another host name, reaches the other
// origin without any credential (net/http alone keeps Authorization for
// the same host on another port and custom headers everywhere); a
// redirect within the origin keeps them.
func TestRedirectToAnotherOriginDropsCredentials(t *testing.T) {
	tokens := originTokenServer(t)
	for _, auth := range originAuths(tokens) {
		for _, where := range []string{"same IP, another port", "another host", "same origin"} {
			t.Run(auth.name+"/"+where, func(t *testing.T) {
				other := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) { page(w, "next_url", "", 1, 2) })
				var api *originServer
				api = newOriginServer(t, func(w http.ResponseWriter, r *http.Request) {
					if !auth.ok(r) {
						http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
						return
					}
					if r.URL.Path == "/v2/items" {
						page(w, "next_url", "", 1, 2)
						return
					}
					// The Location keeps the query, api key included, as
					// many servers' redirects do.
					target := other.srv.URL + "/v2/items?" + r.URL.RawQuery
					if where == "same origin" {
						target = "/v2/items?" + r.URL.RawQuery
					}
					http.Redirect(w, r, target, http.StatusFound)
				})
				start := api.srv.URL
				if where == "another host" {
					start = strings.Replace(start, "127.0.0.1", "localhost", 1)
				}
				c := configure(t, sourceConfig(start+"/v1/items", "next_url", auth, nil))
				rows, _, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
				if err != nil {
					t.Fatal(err)
				}
				wantIDs(t, rows, 1, 2)
				if where == "same origin" {
					if n := len(api.requests()); n != 2 {
						t.Fatalf("the API saw %d requests, want 2 (both authorized)", n)
					}
					return
				}
				seen := other.requests()
				if len(seen) != 1 {
					t.Fatalf("the other origin saw %d requests", len(seen))
				}
				if l := leaked(seen[0]); len(l) > 0 {
					t.Fatalf("the redirect carried credentials to the other origin: %v", l)
				}
			})
		}
	}
}

// TestCrossOriginCheckpointRefused: a checkpoint naming a next URL on
// another origin (written by an older version, or by hand) is refused the
// same way, before any request.
func TestCrossOriginCheckpointRefused(t *testing.T) {
	other := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) { page(w, "next_url", "", 4) })
	api := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) { page(w, "next_url", "", 1) })
	cfg := map[string]any{"url": api.srv.URL + "/v1/items", "data_path": "results", "pagination": map[string]any{"type": "next_url"},
		"auth": map[string]any{"type": "bearer", "token": originToken}}
	cp, _ := json.Marshal(map[string]any{"v": 1, "pages": 1, "url": other.srv.URL + "/v1/items?after=3"})
	_, err := configure(t, cfg).ReadPage(t.Context(), sdk.ReadRequest{Stream: "items", Checkpoint: cp})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "allow_cross_origin_pagination") {
		t.Fatalf("err = %v (%v)", err, errclass.Of(err))
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the other origin saw %d requests", n)
	}
	cfg["allow_cross_origin_pagination"] = true
	p, err := configure(t, cfg).ReadPage(t.Context(), sdk.ReadRequest{Stream: "items", Checkpoint: cp})
	if err != nil {
		t.Fatal(err)
	}
	p.Records.Release()
	if seen := other.requests(); len(seen) != 1 || len(leaked(seen[0])) > 0 {
		t.Fatalf("the other origin saw %d requests: %v", len(seen), leaked(seen[len(seen)-1]))
	}
}

// TestURLUserinfoStaysOnOrigin: user:password written in url is basic
// auth for url's origin: every request there carries it (also after an
// absolute next link), no checkpoint holds it, and no other origin gets it.
func TestURLUserinfoStaysOnOrigin(t *testing.T) {
	auth := originAuths("")[6]
	var api *originServer
	api = newOriginServer(t, func(w http.ResponseWriter, r *http.Request) {
		if !auth.ok(r) {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Query().Get("after") {
		case "":
			page(w, "next_url", "/v1/items?after=1", 1) // relative
		case "1":
			page(w, "next_url", api.srv.URL+"/v1/items?after=2", 2) // absolute
		default:
			page(w, "next_url", "", 3)
		}
	})
	c := configure(t, sourceConfig(api.srv.URL+"/v1/items", "next_url", auth, nil))
	rows, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, rows, 1, 3)
	for _, p := range pages {
		if strings.Contains(string(p.Checkpoint), originPassword) {
			t.Fatalf("a checkpoint holds the url's password: %s", p.Checkpoint)
		}
	}
}

// TestOtherOrigins401IsNotAuthExpired: with OAuth2, a 401 from another
// origin (reached by a redirect, which carried no token) is PERMANENT,
// not AUTH_EXPIRED: a fresh token would not be sent there either.
func TestOtherOrigins401IsNotAuthExpired(t *testing.T) {
	other := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
	})
	api := newOriginServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+"/v2/items", http.StatusFound)
	})
	auth := originAuths(originTokenServer(t))[4]
	c := configure(t, sourceConfig(api.srv.URL+"/v1/items", "next_url", auth, nil))
	_, _, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v (%v), want PERMANENT 401", err, errclass.Of(err))
	}
	if l := leaked(other.requests()[0]); len(l) > 0 {
		t.Fatalf("the other origin received %v", l)
	}
}
