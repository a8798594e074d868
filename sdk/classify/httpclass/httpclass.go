// Package httpclass classifies the outcome of one HTTP request into the
// connector error classes of package errclass, and reads the rate-limit
// facts a response carries into [sdk.RateHints].
//
// # Classification
//
// [Classify] follows go-retryablehttp's ErrorPropagatedRetryPolicy (what
// its DefaultRetryPolicy retries is what the host should retry) with the
// classes the host needs:
//
//   - 429 Too Many Requests: RATE_LIMITED, with the Retry-After the server
//     sent (seconds or an HTTP-date, parsed by go-retryablehttp's
//     DefaultBackoff) as the error's RetryAfter.
//   - 408 Request Timeout, 5xx except 501, status 0 and other nonsense
//     statuses, connection errors and timeouts (including the client's own
//     timeout and an expired context deadline): TRANSIENT. A 503 with
//     Retry-After carries it too.
//   - Statuses listed in Options.AuthExpired (typically 401 for a client
//     that can fetch a new token): AUTH_EXPIRED.
//   - Every other 4xx, 501, an unfollowed 3xx, and transport errors that
//     cannot heal (too many redirects, a bad scheme or header, an
//     untrusted certificate): PERMANENT, with the status and the first
//     [SnippetBytes] bytes of the body, secrets redacted.
//   - A cancelled context (the user stopped the run) is returned as
//     context.Canceled without a class, so callers can tell it apart.
//   - An error that carries a class already (e.g. from a token fetch
//     classified on its own, or a redirect refused by a CheckRedirect)
//     keeps it; its message is redacted like any other.
//
// Retries belong to the host: a client built by [NewClient] sends every
// request exactly once.
package httpclass

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// SnippetBytes is how much of an error response's body a PERMANENT error
// quotes: enough for an API's error message, short enough for a log line.
const SnippetBytes = 200

// errorBodyLimit is how much of an error response's body Classify reads
// before redacting and cutting it to SnippetBytes, so that a secret
// straddling the cut is still recognised and removed whole.
const errorBodyLimit = 4 << 10

// NewClient returns a go-retryablehttp client that sends each request
// exactly once (RetryMax 0 and a CheckRetry that never retries: the host
// owns retries, so attempts never multiply), logs nothing, and bounds each
// request by timeout (zero means no client timeout; the caller's context
// deadline still applies). Its transport is go-cleanhttp's pooled one, so
// connections are reused between pages.
//
// Do returns the response of every status unchanged; pass it to Classify.
func NewClient(timeout time.Duration) *retryablehttp.Client {
	hc := cleanhttp.DefaultPooledClient()
	hc.Timeout = timeout
	return &retryablehttp.Client{
		HTTPClient: hc,
		RetryMax:   0,
		CheckRetry: func(ctx context.Context, _ *http.Response, _ error) (bool, error) {
			return false, nil
		},
		Backoff: retryablehttp.DefaultBackoff,
		// The transport's own error, not "giving up after 1 attempt(s)".
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// Options tune Classify.
type Options struct {
	// Request describes the request in messages, e.g. "GET
	// https://api.example.com/v1/items"; empty means the response's own
	// request, when it has one. Secrets in it are redacted too.
	Request string
	// Secrets are strings that must never appear in an error message
	// (passwords, tokens, API keys); each occurrence is replaced by "***".
	// Empty strings are ignored.
	Secrets []string
	// AuthExpired lists statuses that mean the credentials expired and
	// fresh ones may work (e.g. 401 for a client holding an OAuth2 token
	// source): they are AUTH_EXPIRED instead of PERMANENT.
	AuthExpired []int
}

// Classify returns nil when the exchange succeeded (err is nil and the
// status is 2xx) and otherwise a classified error, as the package doc
// describes. ctx is the request's context; resp may be nil when err is not.
// For a failed status Classify reads up to 4 KiB of resp.Body to quote it;
// the caller still closes the body.
func Classify(ctx context.Context, resp *http.Response, err error, opts Options) error {
	red := NewRedactor(opts.Secrets...)
	what := opts.Request
	if what == "" && resp != nil && resp.Request != nil {
		what = resp.Request.Method + " " + resp.Request.URL.String()
	}
	what = red.Redact(what)
	prefix := ""
	if what != "" {
		prefix = what + ": "
	}

	if err != nil {
		var ce *errclass.Error
		if errors.As(err, &ce) {
			// Classified already (a refused redirect, a token fetch): keep
			// the class, the wait and the field, and redact the message,
			// which may quote a URL (a *url.Error's, as a server wrote it).
			return &errclass.Error{Class: ce.Class, RetryAfter: ce.RetryAfter, Field: ce.Field,
				Err: &redactedError{msg: prefix + red.Redact(err.Error()), err: err}}
		}
		return classifyError(ctx, err, prefix, red)
	}
	if resp == nil {
		return errclass.Permanentf("%sno response and no error", prefix)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}

	shouldRetry, _ := retryablehttp.ErrorPropagatedRetryPolicy(ctx, resp, nil)
	if ctx.Err() != nil {
		return classifyError(ctx, ctx.Err(), prefix, red)
	}
	status := resp.Status
	if status == "" {
		status = fmt.Sprintf("%d", resp.StatusCode)
	}
	msg := fmt.Sprintf("%sHTTP %s", prefix, status)
	if body := readSnippet(resp.Body, red); body != "" {
		msg += ": " + body
	}
	retryAfter := RetryAfter(resp.Header)

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &errclass.Error{Class: errclass.RateLimited, RetryAfter: retryAfter, Err: errors.New(msg)}
	case contains(opts.AuthExpired, resp.StatusCode):
		return errclass.AuthExpiredf("%s", msg)
	case resp.StatusCode == http.StatusRequestTimeout || shouldRetry:
		return &errclass.Error{Class: errclass.Transient, RetryAfter: retryAfter, Err: errors.New(msg)}
	default:
		return errclass.Permanentf("%s", msg)
	}
}

func classifyError(ctx context.Context, err error, prefix string, red *Redactor) error {
	if errors.Is(err, context.Canceled) && ctx.Err() == context.Canceled {
		return fmt.Errorf("%s%w", prefix, context.Canceled)
	}
	msg := red.Redact(strings.ToValidUTF8(err.Error(), "\uFFFD"))
	cause := &redactedError{msg: prefix + msg, err: err}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return errclass.Wrap(errclass.Transient, cause)
	}
	// The policy looks for a *url.Error at the top; find it in the chain.
	policyErr := err
	var uerr *url.Error
	if errors.As(err, &uerr) {
		policyErr = uerr
	}
	shouldRetry, _ := retryablehttp.ErrorPropagatedRetryPolicy(context.WithoutCancel(ctx), nil, policyErr)
	if shouldRetry {
		return errclass.Wrap(errclass.Transient, cause)
	}
	return errclass.Wrap(errclass.Permanent, cause)
}

// redactedError shows a redacted message and keeps the original error for
// errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// readSnippet reads the start of an error body for a message.
func readSnippet(body io.Reader, red *Redactor) string {
	if body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(body, errorBodyLimit))
	return Snippet(b, red)
}

// Snippet returns the first SnippetBytes bytes of b for an error message:
// secrets redacted (before the cut, so no part of one survives), invalid
// UTF-8 replaced, whitespace runs collapsed to one space, and "…" appended
// when something was cut. red may be nil.
func Snippet(b []byte, red *Redactor) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if red != nil {
		s = red.Redact(s)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= SnippetBytes {
		return s
	}
	cut := SnippetBytes
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// RetryAfter returns the wait a Retry-After header asks for, in seconds
// ("120") or as an HTTP-date ("Fri, 31 Dec 1999 23:59:59 GMT", measured
// from now), parsed by go-retryablehttp; zero when the header is absent,
// unparsable, negative or in the past. Decimal seconds ("2.0", which
// Shopify's REST Admin API sends with a 429) are read too.
func RetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	// DefaultBackoff parses Retry-After for a 429 and, with both bounds
	// zero, answers zero when the header says nothing usable.
	if d := retryablehttp.DefaultBackoff(0, 0, 0, &http.Response{StatusCode: http.StatusTooManyRequests, Header: h}); d > 0 {
		return d
	}
	// Not an integer or a date: decimal seconds. An HTTP-date never parses
	// as a float, so this changes nothing for the forms above.
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f > 0 && f < maxRetryAfterSeconds {
		return time.Duration(f * float64(time.Second))
	}
	return 0
}

// maxRetryAfterSeconds bounds a decimal Retry-After so that the conversion
// to a time.Duration cannot overflow (about 292 years).
const maxRetryAfterSeconds = 9e9
