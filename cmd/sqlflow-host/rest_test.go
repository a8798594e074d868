package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// restAPI is a paged JSON API over items 1..n, page size 3
// (?page=N&page_size=3), answering {"data": [...]}. fail, when set, may
// answer a request itself. It counts requests per page.
type restAPI struct {
	n    int
	fail func(w http.ResponseWriter, page, attempt int) bool

	mu    sync.Mutex
	count map[int]int
	order []int
}

func (a *restAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	a.mu.Lock()
	if a.count == nil {
		a.count = map[int]int{}
	}
	a.count[page]++
	a.order = append(a.order, page)
	attempt := a.count[page]
	a.mu.Unlock()
	if a.fail != nil && a.fail(w, page, attempt) {
		return
	}
	var data []map[string]any
	for i := (page-1)*3 + 1; i <= a.n && i <= page*3; i++ {
		data = append(data, map[string]any{"id": i, "name": fmt.Sprintf("item %d", i), "updated_at": fmt.Sprintf("2024-01-01T00:%02d:00Z", i)})
	}
	if data == nil {
		data = []map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func (a *restAPI) requests() (map[int]int, []int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := map[int]int{}
	for k, v := range a.count {
		c[k] = v
	}
	return c, append([]int(nil), a.order...)
}

// restPipeline writes a pipeline reading url into a csv file under dir.
func restPipeline(t *testing.T, dir, url, extra string) string {
	return write(t, dir, "p.yaml", `version: 1
sources:
  api:
    type: rest
    url: `+url+`
    data_path: data
    pagination: {page_size: 3}
`+extra+`
destinations:
  out: {type: csv, path: `+filepath.Join(dir, "out")+`}
flows:
  - {name: items, from: api, to: out, mode: replace}
`)
}

// csvIDs reads the id column of the flow's csv output.
func csvIDs(t *testing.T, dir string) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "out", "items.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		id, _ := strconv.Atoi(strings.SplitN(line, ",", 2)[0])
		ids = append(ids, id)
	}
	return ids
}

func wantCSVIDs(t *testing.T, dir string, n int) {
	t.Helper()
	ids := csvIDs(t, dir)
	if len(ids) != n {
		t.Fatalf("the target holds %d rows, want %d: %v", len(ids), n, ids)
	}
	for i, id := range ids {
		if id != i+1 {
			t.Fatalf("row %d has id %d: %v", i, id, ids)
		}
	}
}

func TestRESTRun(t *testing.T) {
	havePlugin(t, "rest")
	api := &restAPI{n: 10}
	srv := newServer(t, api)
	dir := t.TempDir()
	p := restPipeline(t, dir, srv+"/v1/items", "")
	expect(t, cli(t, "run", p), 0, "items")
	wantCSVIDs(t, dir, 10)
	count, _ := api.requests()
	if len(count) != 4 { // pages 1-3 full, page 4 short
		t.Fatalf("requests per page: %v", count)
	}
	r := cli(t, "discover", p, "api")
	expect(t, r, 0, "stream items", "schema: known after the first page")
	expect(t, cli(t, "preview", p, "api", "items", "--limit", "2"), 0, "item 2")
}

// TestREST404NoRetry: a 404 is PERMANENT: the run fails at once with the
// status in its message, and the server saw exactly one request.
func TestREST404NoRetry(t *testing.T) {
	havePlugin(t, "rest")
	var mu sync.Mutex
	n := 0
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		http.Error(w, `{"message": "Not Found"}`, http.StatusNotFound)
	}))
	dir := t.TempDir()
	p := restPipeline(t, dir, srv+"/v1/items", `    resilience: {retry: {max_attempts: 5, initial_delay: 0.05, max_delay: 0.1}}`)
	expect(t, cli(t, "run", p), 1, "404 Not Found", `{"message": "Not Found"}`)
	mu.Lock()
	defer mu.Unlock()
	if n != 1 {
		t.Fatalf("the server saw %d requests, want exactly 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "items.csv")); err == nil {
		t.Fatal("a failed run left a target")
	}
}

// TestREST503BurstThenSuccess: page 2 answers 503 three times, then data;
// the host retries the page (TRANSIENT) and the run commits every row once.
func TestREST503BurstThenSuccess(t *testing.T) {
	havePlugin(t, "rest")
	api := &restAPI{n: 10, fail: func(w http.ResponseWriter, page, attempt int) bool {
		if page == 2 && attempt <= 3 {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return true
		}
		return false
	}}
	srv := newServer(t, api)
	dir := t.TempDir()
	p := restPipeline(t, dir, srv+"/v1/items", `    resilience: {retry: {max_attempts: 5, initial_delay: 0.05, max_delay: 0.1}}`)
	r := cli(t, "run", p)
	count, _ := api.requests()
	expect(t, r, 0)
	wantCSVIDs(t, dir, 10)
	if count[1] != 1 || count[2] != 4 || count[3] != 1 {
		t.Fatalf("requests per page: %v", count)
	}
}

// TestREST429RetryAfter: a 429 with Retry-After: 1 is waited out (the
// host caps a server's wait at retry.max_delay, so that is above it here).
func TestREST429RetryAfter(t *testing.T) {
	havePlugin(t, "rest")
	var first time.Time
	var waited time.Duration
	api := &restAPI{n: 5, fail: func(w http.ResponseWriter, page, attempt int) bool {
		if page == 2 && attempt == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		}
		if page == 2 && attempt == 2 {
			waited = time.Since(first)
		}
		return false
	}}
	srv := newServer(t, api)
	dir := t.TempDir()
	p := restPipeline(t, dir, srv+"/v1/items", `    resilience: {retry: {max_attempts: 3, initial_delay: 0.05, max_delay: 5}}`)
	r := cli(t, "run", p)
	expect(t, r, 0)
	wantCSVIDs(t, dir, 5)
	if waited < 900*time.Millisecond {
		t.Fatalf("the retry came %v after the 429 with Retry-After: 1", waited)
	}
}

// TestRESTServerRestartMidPagination: the API's server dies while page 3
// is asked (the connection is dropped, then nothing listens) and comes back
// on the same port; the host retries the page and the run resumes there:
// after the restart no page is fetched twice and no record is missing.
func TestRESTServerRestartMidPagination(t *testing.T) {
	havePlugin(t, "rest")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	api := &restAPI{n: 20}
	var (
		mu        sync.Mutex
		srv       = &http.Server{Handler: api}
		revived   = make(chan struct{})
		killAt    = -1 // index in api.order of the request that killed it
		restartAt = -1 // index in api.order of the first request after the restart
	)
	api.fail = func(w http.ResponseWriter, page, attempt int) bool {
		if page != 3 || attempt != 1 {
			return false
		}
		_, order := api.requests()
		mu.Lock()
		killAt = len(order)
		old := srv
		mu.Unlock()
		// Kill: drop this connection and stop listening; restart later on
		// the same port.
		// Stop listening before the host sees its connection drop, so
		// its retry cannot reach the old server.
		var conn net.Conn
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ = hj.Hijack()
		}
		old.Close()
		if conn != nil {
			conn.Close()
		}
		go func() {
			// Down for 400 ms: the retries (full jitter, some near 0 s)
			// fail several times in a row; the breaker's threshold is set
			// above what they can reach, so the test is about the restart
			// and the pages, not the breaker.
			time.Sleep(400 * time.Millisecond)
			l2, err := net.Listen("tcp", addr)
			if err != nil {
				t.Errorf("restart on %s: %v", addr, err)
				close(revived)
				return
			}
			s2 := &http.Server{Handler: api}
			_, order := api.requests()
			mu.Lock()
			srv = s2
			restartAt = len(order)
			mu.Unlock()
			close(revived)
			s2.Serve(l2)
		}()
		return true
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		srv.Close()
	})

	dir := t.TempDir()
	p := restPipeline(t, dir, "http://"+addr+"/v1/items", `    resilience: {retry: {max_attempts: 10, initial_delay: 0.2, max_delay: 0.5}, circuit_breaker: {failure_threshold: 20}}`)
	r := cli(t, "run", p)
	_, order := api.requests()
	expect(t, r, 0)
	<-revived
	wantCSVIDs(t, dir, 20)
	if restartAt != killAt {
		t.Fatalf("requests reached the server while it was down: %v (killed at %d, restarted at %d)", order, killAt, restartAt)
	}
	after := order[restartAt:]
	seen := map[int]bool{}
	for _, pg := range after {
		if seen[pg] || pg < 3 {
			t.Fatalf("after the restart page %d was fetched again (requests: %v, killed at %d)", pg, order, killAt)
		}
		seen[pg] = true
	}
	if !seen[3] || !seen[7] {
		t.Fatalf("requests after the restart: %v", after)
	}
}

// TestRESTIncremental: the second run sends the stored cursor as ?since=
// and reads only newer rows.
func TestRESTIncremental(t *testing.T) {
	havePlugin(t, "rest")
	var mu sync.Mutex
	var since []string
	n := 5
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		since = append(since, r.URL.Query().Get("since"))
		total := n
		mu.Unlock()
		var data []map[string]any
		for i := 1; i <= total; i++ {
			ts := fmt.Sprintf("2024-01-01T00:%02d:00Z", i)
			if s := r.URL.Query().Get("since"); s == "" || ts >= s {
				data = append(data, map[string]any{"id": i, "updated_at": ts})
			}
		}
		json.NewEncoder(w).Encode(data)
	}))
	dir := t.TempDir()
	p := write(t, dir, "p.yaml", `version: 1
sources:
  api: {type: rest, url: `+srv+`/v1/events}
destinations:
  out: {type: csv, path: `+filepath.Join(dir, "out")+`}
flows:
  - {name: ev, from: api, to: out, mode: append, incremental: {cursor: updated_at}}
`)
	state := filepath.Join(dir, "state")
	expect(t, cli(t, "run", "--state-dir", state, p), 0)
	mu.Lock()
	n = 8
	mu.Unlock()
	expect(t, cli(t, "run", "--state-dir", state, p), 0)
	data, _ := os.ReadFile(filepath.Join(dir, "out", "events.csv"))
	if got := strings.Count(string(data), "\n"); got != 1+8 {
		t.Fatalf("the target holds %d lines:\n%s", got, data)
	}
	mu.Lock()
	defer mu.Unlock()
	if since[0] != "" || since[1] != "2024-01-01T00:05:00Z" {
		t.Fatalf("since sent: %q", since)
	}
}

// newServer serves h on loopback until the test ends.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// TestRESTOAuth2TokenRevokedMidRun: after two pages the API stops taking
// the first token; the 401 is AUTH_EXPIRED, the host configures the plugin
// again and retries, a new token is fetched and the run completes.
func TestRESTOAuth2TokenRevokedMidRun(t *testing.T) {
	havePlugin(t, "rest")
	var mu sync.Mutex
	issued := 0
	tokens := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if id != "cid" || secret != "the-client-secret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		mu.Lock()
		issued++
		tok := fmt.Sprintf("token-%d", issued)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, tok)
	}))
	api := &restAPI{n: 10}
	api.fail = func(w http.ResponseWriter, page, attempt int) bool {
		return false
	}
	guard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		want := "Bearer token-1"
		if page >= 3 {
			want = "Bearer token-2" // token-1 revoked after page 2
		}
		if r.Header.Get("Authorization") != want {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		api.ServeHTTP(w, r)
	})
	srv := newServer(t, guard)
	dir := t.TempDir()
	t.Setenv("REST_TEST_CLIENT_SECRET", "the-client-secret")
	p := restPipeline(t, dir, srv+"/v1/items", `    auth: {type: oauth2, token_url: `+tokens+`/token, client_id: cid, client_secret: "${REST_TEST_CLIENT_SECRET}"}
    resilience: {retry: {max_attempts: 3, initial_delay: 0.05, max_delay: 0.1}}`)
	r := cli(t, "run", p)
	expect(t, r, 0)
	wantCSVIDs(t, dir, 10)
	if strings.Contains(r.String(), "the-client-secret") {
		t.Fatalf("the secret reached the output:\n%s", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if issued != 2 {
		t.Fatalf("%d tokens issued, want 2", issued)
	}
}

// originRecorder answers {"data": [{"id": 4}]} and records the
// Authorization header of each request it gets.
type originRecorder struct {
	mu   sync.Mutex
	auth []string
}

func (o *originRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.auth = append(o.auth, r.Header.Get("Authorization"))
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"data": [{"id": 4, "name": "item 4"}], "next": null}`)
}

func (o *originRecorder) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.auth...)
}

// crossOriginPipeline reads url with a bearer token from the environment
// and next_url pagination, plus extra keys.
func crossOriginPipeline(t *testing.T, dir, url, extra string) string {
	t.Setenv("REST_TEST_ORIGIN_TOKEN", "tok-cli-origin-123456")
	return write(t, dir, "p.yaml", `version: 1
sources:
  api:
    type: rest
    url: `+url+`
    auth: {type: bearer, token: "${REST_TEST_ORIGIN_TOKEN}"}
    data_path: data
    pagination: {type: next_url}
`+extra+`
destinations:
  out: {type: csv, path: `+filepath.Join(dir, "out")+`}
flows:
  - {name: items, from: api, to: out, mode: replace}
`)
}

// TestRESTCrossOriginNextLink: the case through the CLI. The API
// answers a next link to another origin (the same IP, another port):
// the run fails at once naming both origins and the key that allows it,
// and the other origin gets nothing; with allow_cross_origin_pagination
// the run reads it, and the other origin gets no Authorization.
func TestRESTCrossOriginNextLink(t *testing.T) {
	havePlugin(t, "rest")
	other := &originRecorder{}
	otherURL := newServer(t, other)
	api := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-cli-origin-123456" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data": [{"id": 1, "name": "item 1"}, {"id": 2, "name": "item 2"}, {"id": 3, "name": "item 3"}], "next": %q}`, otherURL+"/v1/items?after=3")
	}))
	dir := t.TempDir()
	p := crossOriginPipeline(t, dir, api+"/v1/items", `    resilience: {retry: {max_attempts: 3, initial_delay: 0.05, max_delay: 0.1}}`)
	r := cli(t, "run", p)
	expect(t, r, 1, "leads to "+otherURL+", another origin than the url's "+api, "allow_cross_origin_pagination: true")
	if strings.Contains(r.String(), "tok-cli-origin-123456") {
		t.Fatalf("the token reached the output:\n%s", r)
	}
	if n := len(other.seen()); n != 0 {
		t.Fatalf("the other origin saw %d requests", n)
	}

	p = crossOriginPipeline(t, dir, api+"/v1/items", `    allow_cross_origin_pagination: true`)
	expect(t, cli(t, "run", p), 0, "items")
	wantCSVIDs(t, dir, 4)
	if seen := other.seen(); len(seen) != 1 || seen[0] != "" {
		t.Fatalf("the other origin saw %q, want one request without Authorization", seen)
	}
}

// TestRESTRedirectToAnotherPortDropsAuthorization: the API redirects to
// its own IP on another port (another origin, which net/http alone sends
// Authorization to): the run follows it and the other origin gets no
// Authorization.
func TestRESTRedirectToAnotherPortDropsAuthorization(t *testing.T) {
	havePlugin(t, "rest")
	other := &originRecorder{}
	otherURL := newServer(t, other)
	api := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-cli-origin-123456" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, otherURL+"/v2/items", http.StatusFound)
	}))
	dir := t.TempDir()
	p := crossOriginPipeline(t, dir, api+"/v1/items", "")
	expect(t, cli(t, "run", p), 0, "items")
	if seen := other.seen(); len(seen) != 1 || seen[0] != "" {
		t.Fatalf("the other origin saw %q, want one request without Authorization", seen)
	}
}
