package restconn_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// guarded wraps the fake API with a check of each request's credentials.
func guarded(api *fakeAPI, ok func(r *http.Request) bool) {
	api.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if ok(r) {
			return false
		}
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return true
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name string
		auth map[string]any
		ok   func(r *http.Request) bool
	}{
		{"basic", map[string]any{"type": "basic", "username": "ann", "password": "s3cret!"}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "ann" && p == "s3cret!"
		}},
		{"bearer", map[string]any{"type": "bearer", "token": "tok-123456"}, func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer tok-123456"
		}},
		{"api_key header default name", map[string]any{"type": "api_key", "key_value": "k-abcdef"}, func(r *http.Request) bool {
			return r.Header.Get("X-API-Key") == "k-abcdef" && r.URL.Query().Get("X-API-Key") == ""
		}},
		{"api_key header named", map[string]any{"type": "api_key", "key_name": "X-Token", "key_value": "k-abcdef"}, func(r *http.Request) bool {
			return r.Header.Get("X-Token") == "k-abcdef"
		}},
		{"api_key query", map[string]any{"type": "api_key", "key_name": "api_key", "key_value": "k-abcdef", "in": "query"}, func(r *http.Request) bool {
			return r.URL.Query().Get("api_key") == "k-abcdef" && r.Header.Get("X-API-Key") == ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, "link_header", 5, 2)
			guarded(api, tt.ok)
			c := configure(t, map[string]any{"url": api.url("/v1/items"), "auth": tt.auth, "pagination": map[string]any{"type": "link_header"}})
			rows, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
			if err != nil {
				t.Fatal(err)
			}
			wantIDs(t, rows, 1, 5)
			for _, p := range pages {
				if strings.Contains(string(p.Checkpoint), "k-abcdef") {
					t.Fatalf("a checkpoint holds the api key: %s", p.Checkpoint)
				}
			}
			// Wrong credentials: PERMANENT, naming the status, no secret.
			wrong := map[string]any{}
			for k, v := range tt.auth {
				wrong[k] = v
			}
			for _, k := range []string{"password", "token", "key_value"} {
				if _, ok := wrong[k]; ok {
					wrong[k] = "wrong-value-1"
				}
			}
			c = configure(t, map[string]any{"url": api.url("/v1/items"), "auth": wrong})
			_, _, err = readAll(t, c, sdk.ReadRequest{Stream: "items"})
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong-value-1") {
				t.Fatalf("wrong credentials: %v (%v)", errclass.Of(err), err)
			}
		})
	}
}

// digestServer verifies RFC 7616 digest authentication on its own.
type digestServer struct {
	alg, realm, user, pass string

	mu      sync.Mutex
	nonce   int
	lastNC  map[string]string
	expired map[string]bool
}

func (d *digestServer) newNonce() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nonce++
	return fmt.Sprintf("nonce-%d", d.nonce)
}

func (d *digestServer) challenge(w http.ResponseWriter, stale bool) {
	v := fmt.Sprintf(`Digest realm=%q, qop="auth", algorithm=%s, nonce=%q, opaque="op"`, d.realm, d.alg, d.newNonce())
	if stale {
		v += ", stale=true"
	}
	w.Header().Add("WWW-Authenticate", `Basic realm="fallback"`)
	w.Header().Add("WWW-Authenticate", v)
	w.WriteHeader(http.StatusUnauthorized)
}

func (d *digestServer) check(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Digest ") {
		d.challenge(w, false)
		return false
	}
	p := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(h, "Digest "), ", ") {
		k, v, _ := strings.Cut(part, "=")
		p[k] = strings.Trim(v, `"`)
	}
	var newH func() hash.Hash = md5.New
	if d.alg == "SHA-256" {
		newH = sha256.New
	}
	H := func(s string) string { x := newH(); x.Write([]byte(s)); return hex.EncodeToString(x.Sum(nil)) }
	ha1 := H(d.user + ":" + d.realm + ":" + d.pass)
	ha2 := H(r.Method + ":" + r.URL.RequestURI())
	want := H(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	d.mu.Lock()
	expired := d.expired[p["nonce"]]
	ncOK := p["nc"] > d.lastNC[p["nonce"]]
	d.lastNC[p["nonce"]] = p["nc"]
	d.mu.Unlock()
	switch {
	case p["response"] != want || p["username"] != d.user || p["uri"] != r.URL.RequestURI() || p["algorithm"] != d.alg || p["opaque"] != "op" || !ncOK:
		http.Error(w, "bad digest", http.StatusUnauthorized)
		return false
	case expired:
		d.challenge(w, true)
		return false
	}
	return true
}

func TestDigestAuth(t *testing.T) {
	for _, alg := range []string{"MD5", "SHA-256"} {
		t.Run(alg, func(t *testing.T) {
			ds := &digestServer{alg: alg, realm: "api@example.org", user: "Mufasa", pass: "Circle of Life", lastNC: map[string]string{}, expired: map[string]bool{}}
			api := newFakeAPI(t, "page", 7, 2)
			var challenged int
			api.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 4 { // the server expires the first nonce mid-run
					ds.mu.Lock()
					ds.expired["nonce-1"] = true
					ds.mu.Unlock()
				}
				if !ds.check(w, r) {
					challenged++
					return true
				}
				return false
			}
			c := configure(t, map[string]any{"url": api.url("/v1/items"), "data_path": "data.items",
				"auth": map[string]any{"type": "digest", "username": "Mufasa", "password": "Circle of Life"}, "pagination": map[string]any{"page_size": 2}})
			rows, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
			if err != nil {
				t.Fatal(err)
			}
			wantIDs(t, rows, 1, 7)
			// 4 pages; one challenge at the start, one stale nonce.
			if len(pages) != 4 || challenged != 2 || len(api.seen()) != 6 {
				t.Fatalf("%d pages, %d challenges, %d requests", len(pages), challenged, len(api.seen()))
			}

			c = configure(t, map[string]any{"url": api.url("/v1/items"), "auth": map[string]any{"type": "digest", "username": "Mufasa", "password": "wrong-password"}})
			_, _, err = readAll(t, c, sdk.ReadRequest{Stream: "items"})
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "401") {
				t.Fatalf("wrong password: %v (%v)", errclass.Of(err), err)
			}
		})
	}
}

// tokenServer is an OAuth2 token endpoint issuing numbered tokens.
type tokenServer struct {
	mu        sync.Mutex
	issued    int
	expiresIn int
	srv       *httptest.Server
}

func newTokenServer(t *testing.T, expiresIn int) *tokenServer {
	ts := &tokenServer{expiresIn: expiresIn}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if r.PostForm.Get("grant_type") != "client_credentials" || id != "cid" || secret != "csecret-value" || r.PostForm.Get("scope") != "read write" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		ts.mu.Lock()
		ts.issued++
		n := ts.issued
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("token-%d", n), "token_type": "Bearer", "expires_in": ts.expiresIn})
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.issued
}

func oauthConfig(api *fakeAPI, ts *tokenServer) map[string]any {
	return map[string]any{"url": api.url("/v1/items"), "data_path": "data.items", "pagination": map[string]any{"page_size": 2},
		"auth": map[string]any{"type": "oauth2", "token_url": ts.srv.URL + "/token", "client_id": "cid", "client_secret": "csecret-value", "scopes": []any{"read", "write"}}}
}

// TestOAuth2RevokedMidRun: the API stops accepting the first token after
// two pages; the 401 is AUTH_EXPIRED, and the page asked again (as the
// host does) fetches a new token and succeeds.
func TestOAuth2RevokedMidRun(t *testing.T) {
	ts := newTokenServer(t, 3600)
	api := newFakeAPI(t, "page", 7, 2)
	guarded(api, func(r *http.Request) bool {
		got := r.Header.Get("Authorization")
		if len(api.seen()) > 2 {
			return got == "Bearer token-2"
		}
		return got == "Bearer token-1"
	})
	c := configure(t, oauthConfig(api, ts))
	req := sdk.ReadRequest{Stream: "items"}
	var all []row
	retries := 0
	for {
		p, err := c.ReadPage(t.Context(), req)
		if err != nil {
			if errclass.Of(err) != errclass.AuthExpired || retries > 0 {
				t.Fatalf("got %v (%v)", errclass.Of(err), err)
			}
			retries++
			continue // the host retries the same checkpoint
		}
		all = append(all, rowsOf(p.Records)...)
		p.Records.Release()
		if p.Done {
			break
		}
		req.Checkpoint = p.Checkpoint
	}
	wantIDs(t, all, 1, 7)
	if ts.count() != 2 || retries != 1 {
		t.Fatalf("%d tokens issued, %d retries", ts.count(), retries)
	}
}

// TestOAuth2TokenExpiry: a token that expires (within x/oauth2's 10 s
// early-renewal window) is fetched again before the next page.
func TestOAuth2TokenExpiry(t *testing.T) {
	ts := newTokenServer(t, 5)
	api := newFakeAPI(t, "page", 5, 2)
	var used []string
	api.before = func(w http.ResponseWriter, r *http.Request, n int) bool {
		used = append(used, r.Header.Get("Authorization"))
		return false
	}
	c := configure(t, oauthConfig(api, ts))
	rows, pages, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, rows, 1, 5)
	if ts.count() != len(pages) || used[0] != "Bearer token-1" || used[2] != "Bearer token-3" {
		t.Fatalf("%d tokens for %d pages: %v", ts.count(), len(pages), used)
	}
}

func TestOAuth2BadClient(t *testing.T) {
	ts := newTokenServer(t, 3600)
	api := newFakeAPI(t, "page", 5, 2)
	cfg := oauthConfig(api, ts)
	cfg["auth"].(map[string]any)["client_secret"] = "not-the-secret"
	c := configure(t, cfg)
	_, err := c.ReadPage(t.Context(), sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("got %v (%v)", errclass.Of(err), err)
	}
	if len(api.seen()) != 0 {
		t.Fatal("the API was called without a token")
	}
}
