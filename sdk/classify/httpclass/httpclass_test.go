package httpclass_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// do sends one GET through a NewClient client and classifies it.
func do(t *testing.T, ctx context.Context, client *retryablehttp.Client, url string, opts httpclass.Options) error {
	t.Helper()
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if resp != nil {
		defer resp.Body.Close()
	}
	return httpclass.Classify(ctx, resp, err, opts)
}

func TestClassifyStatuses(t *testing.T) {
	httpDate := func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name       string
		status     int
		header     map[string]func() string
		body       string
		opts       httpclass.Options
		class      errclass.Class
		retryAfter [2]time.Duration // inclusive range
		contains   []string
		lacks      []string
	}{
		{name: "200", status: 200, class: errclass.Unknown},
		{name: "204", status: 204, class: errclass.Unknown},
		{name: "429 seconds", status: 429, header: map[string]func() string{"Retry-After": func() string { return "2" }},
			class: errclass.RateLimited, retryAfter: [2]time.Duration{2 * time.Second, 2 * time.Second}, contains: []string{"429"}},
		{name: "429 http-date", status: 429, header: map[string]func() string{"Retry-After": httpDate},
			class: errclass.RateLimited, retryAfter: [2]time.Duration{time.Second, 3 * time.Second}},
		{name: "429 without retry-after", status: 429, class: errclass.RateLimited},
		{name: "429 past date", status: 429, header: map[string]func() string{"Retry-After": func() string { return "Fri, 31 Dec 1999 23:59:59 GMT" }},
			class: errclass.RateLimited},
		{name: "408", status: 408, class: errclass.Transient},
		{name: "500", status: 500, class: errclass.Transient},
		{name: "502", status: 502, class: errclass.Transient},
		{name: "503 with retry-after", status: 503, header: map[string]func() string{"Retry-After": func() string { return "7" }},
			class: errclass.Transient, retryAfter: [2]time.Duration{7 * time.Second, 7 * time.Second}},
		{name: "504", status: 504, class: errclass.Transient},
		{name: "501 not implemented", status: 501, class: errclass.Permanent},
		{name: "400 quotes body", status: 400, body: `{"error":"bad filter \"x\""}`, class: errclass.Permanent,
			contains: []string{"400 Bad Request", `bad filter`}},
		{name: "404", status: 404, body: "no such thing", class: errclass.Permanent, contains: []string{"404 Not Found", "no such thing"}},
		{name: "401 without auth refresh", status: 401, class: errclass.Permanent},
		{name: "401 with auth refresh", status: 401, opts: httpclass.Options{AuthExpired: []int{401}}, class: errclass.AuthExpired},
		{name: "403", status: 403, opts: httpclass.Options{AuthExpired: []int{401}}, class: errclass.Permanent},
		{name: "secrets redacted", status: 403,
			body: `{"message":"key s3cr3t-KEY-value is not allowed","access_token":"abcdefgh","user":"bob"}`,
			opts: httpclass.Options{Secrets: []string{"s3cr3t-KEY-value"}}, class: errclass.Permanent,
			contains: []string{`"user":"bob"`, `"access_token":"***"`, "key *** is"}, lacks: []string{"s3cr3t", "abcdefgh"}},
		{name: "long body cut", status: 422, body: strings.Repeat("x", 1000), class: errclass.Permanent,
			contains: []string{strings.Repeat("x", 200) + "…"}, lacks: []string{strings.Repeat("x", 201)}},
		{name: "secret across the cut", status: 422, body: strings.Repeat("y", 195) + "TOPSECRET1234",
			opts: httpclass.Options{Secrets: []string{"TOPSECRET1234"}}, class: errclass.Permanent, lacks: []string{"TOPS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v())
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			err := do(t, context.Background(), httpclass.NewClient(5*time.Second), srv.URL+"/x?api_key=QUERYSECRET", tt.opts)
			if got := errclass.Of(err); got != tt.class {
				t.Fatalf("class %v, want %v (err %v)", got, tt.class, err)
			}
			if tt.class == errclass.Unknown {
				if err != nil {
					t.Fatalf("want nil, got %v", err)
				}
				return
			}
			ra := errclass.RetryAfter(err)
			if ra < tt.retryAfter[0] || ra > tt.retryAfter[1] {
				t.Fatalf("retry after %v, want in %v", ra, tt.retryAfter)
			}
			msg := err.Error()
			for _, c := range tt.contains {
				if !strings.Contains(msg, c) {
					t.Errorf("message lacks %q: %s", c, msg)
				}
			}
			for _, c := range append(tt.lacks, "QUERYSECRET") {
				if strings.Contains(msg, c) {
					t.Errorf("message has %q: %s", c, msg)
				}
			}
			if !strings.Contains(msg, "GET http://") {
				t.Errorf("message does not name the request: %s", msg)
			}
		})
	}
}

// TestSendsOnce checks that a NewClient client does not retry on its own.
func TestSendsOnce(t *testing.T) {
	for _, status := range []int{429, 500, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var n int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n++
				w.WriteHeader(status)
			}))
			defer srv.Close()
			do(t, context.Background(), httpclass.NewClient(5*time.Second), srv.URL, httpclass.Options{})
			if n != 1 {
				t.Fatalf("the server saw %d requests, want 1", n)
			}
		})
	}
}

func TestClassifyTransportErrors(t *testing.T) {
	// A port nobody listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	stall := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(stall)

	redirects := httptest.NewServer(nil)
	redirects.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, redirects.URL+r.URL.Path+"x", http.StatusFound)
	})
	defer redirects.Close()

	t.Run("connection refused", func(t *testing.T) {
		err := do(t, context.Background(), httpclass.NewClient(5*time.Second), closedURL, httpclass.Options{})
		if errclass.Of(err) != errclass.Transient {
			t.Fatalf("got %v (%v)", errclass.Of(err), err)
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		err := do(t, context.Background(), httpclass.NewClient(100*time.Millisecond), slow.URL, httpclass.Options{})
		if errclass.Of(err) != errclass.Transient {
			t.Fatalf("got %v (%v)", errclass.Of(err), err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := do(t, ctx, httpclass.NewClient(0), slow.URL, httpclass.Options{})
		if errclass.Of(err) != errclass.Transient || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v (%v)", errclass.Of(err), err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		err := do(t, ctx, httpclass.NewClient(0), slow.URL, httpclass.Options{})
		if errclass.Of(err) != errclass.Unknown || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v (%v)", errclass.Of(err), err)
		}
	})
	t.Run("too many redirects", func(t *testing.T) {
		err := do(t, context.Background(), httpclass.NewClient(5*time.Second), redirects.URL+"/r", httpclass.Options{})
		if errclass.Of(err) != errclass.Permanent {
			t.Fatalf("got %v (%v)", errclass.Of(err), err)
		}
	})
	t.Run("unsupported scheme", func(t *testing.T) {
		err := do(t, context.Background(), httpclass.NewClient(5*time.Second), "ftp://example.invalid/x", httpclass.Options{})
		if errclass.Of(err) != errclass.Permanent {
			t.Fatalf("got %v (%v)", errclass.Of(err), err)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		value  string
		lo, hi time.Duration
	}{
		{"absent", "", 0, 0},
		{"seconds", "2", 2 * time.Second, 2 * time.Second},
		{"zero", "0", 0, 0},
		{"negative", "-5", 0, 0},
		{"garbage", "soon", 0, 0},
		{"decimal seconds (Shopify)", "2.0", 2 * time.Second, 2 * time.Second},
		{"fractional seconds", "0.25", 250 * time.Millisecond, 250 * time.Millisecond},
		{"negative decimal", "-1.5", 0, 0},
		{"not a number", "NaN", 0, 0},
		{"http-date", time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat), 3 * time.Second, 5 * time.Second},
		{"past http-date", "Fri, 31 Dec 1999 23:59:59 GMT", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got := httpclass.RetryAfter(h)
			if got < tt.lo || got > tt.hi {
				t.Fatalf("got %v, want in [%v, %v]", got, tt.lo, tt.hi)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	got := httpclass.Snippet([]byte("a\n\n  b\xff"+strings.Repeat("é", 200)), nil)
	if !strings.HasPrefix(got, "a b\uFFFD") || !strings.HasSuffix(got, "…") || len(got) > httpclass.SnippetBytes+len("…") {
		t.Fatalf("got %q", got)
	}
}

func TestRedactor(t *testing.T) {
	r := httpclass.NewRedactor("hunter22", "", "ab")
	tests := []struct{ in, want string }{
		{"password is hunter22", "password is ***"},
		{`{"client_secret": "xyz", "name": "ab"}`, `{"client_secret": "***", "name": "ab"}`},
		{"GET http://h/p?page=2&api_key=K123&x=1", "GET http://h/p?page=2&api_key=***&x=1"},
		{"Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer ***"},
		{`{"author": "Ann"}`, `{"author": "Ann"}`},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestClassifiedErrorIsRedacted: an error that carries a class already
// (a CheckRedirect's refusal inside net/http's *url.Error, which quotes
// the Location as the server wrote it) keeps its class and wait, and its
// message loses the secrets.
func TestClassifiedErrorIsRedacted(t *testing.T) {
	inner := &errclass.Error{Class: errclass.RateLimited, RetryAfter: 3 * time.Second, Err: errors.New("refusing the redirect")}
	err := &url.Error{Op: "Get", URL: "http://bob:pw@other.test:8080/x?api_key=KEY-123456&a=1", Err: inner}
	got := httpclass.Classify(context.Background(), nil, err, httpclass.Options{Request: "GET https://api.test/v1", Secrets: []string{"KEY-123456"}})
	if errclass.Of(got) != errclass.RateLimited || errclass.RetryAfter(got) != 3*time.Second || !errors.Is(got, inner) {
		t.Fatalf("class %v, wait %v, wraps the cause %v", errclass.Of(got), errclass.RetryAfter(got), errors.Is(got, inner))
	}
	msg := got.Error()
	if strings.Contains(msg, "KEY-123456") || strings.Contains(msg, "bob:pw") || !strings.Contains(msg, "refusing the redirect") || !strings.HasPrefix(msg, "GET https://api.test/v1: ") {
		t.Fatalf("message: %s", msg)
	}
}
