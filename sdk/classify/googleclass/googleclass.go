// Package googleclass classifies the errors of Google API clients into the
// connector error classes of package errclass: a *googleapi.Error from a
// google.golang.org/api client (by HTTP code, the JSON error's status and
// reason, and its RetryInfo), an *oauth2.RetrieveError from a token
// endpoint (by HTTP code and OAuth2 error code), and transport failures
// (through package httpclass).
//
// # Classes
//
//   - 429, and 403 with a rate-limit reason (rateLimitExceeded,
//     userRateLimitExceeded, RATE_LIMIT_EXCEEDED): RATE_LIMITED, with the
//     wait the server asked for (a Retry-After header, else a
//     google.rpc.RetryInfo retryDelay) as RetryAfter; zero when it gave none.
//   - 401 (UNAUTHENTICATED: the access token expired or was revoked):
//     AUTH_EXPIRED, unless Options.StaticCredentials says fresh credentials
//     cannot help (an API key): then PERMANENT.
//   - A token endpoint refusing the credentials (400 or 401 with
//     invalid_grant, invalid_client or unauthorized_client): AUTH_EXPIRED,
//     since a refreshed key (a rotated key file) may work.
//   - 408, 409 ABORTED, 5xx except 501: TRANSIENT (with Retry-After when
//     sent).
//   - Every other 4xx, and 501: PERMANENT.
//   - Network failures and timeouts: as httpclass classifies them
//     (TRANSIENT, or PERMANENT for what cannot heal); a cancelled context
//     is returned as context.Canceled without a class.
//   - An error that carries a class already keeps it.
//
// Messages quote the API's own message with secrets redacted and invalid
// UTF-8 replaced; [Details] gives callers the code, status and reason to
// write messages of their own (e.g. which account needs access).
//
// The package never retries: the host does.
package googleclass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Options tune Classify.
type Options struct {
	// Request describes the call in messages, e.g. "spreadsheets.get
	// 1AbC"; empty adds nothing. Secrets in it are redacted too.
	Request string
	// Secrets are strings that must never appear in a message (API keys,
	// tokens); each occurrence becomes "***".
	Secrets []string
	// StaticCredentials reports that the caller's credentials cannot be
	// refreshed (an API key): a 401 is then PERMANENT, not AUTH_EXPIRED.
	StaticCredentials bool
}

// Detail is what a Google API error says about itself.
type Detail struct {
	// Code is the HTTP status code (0 when err is no API error).
	Code int
	// Status is the canonical status name, e.g. "PERMISSION_DENIED",
	// "NOT_FOUND", "RESOURCE_EXHAUSTED"; empty when the body had none.
	Status string
	// Reason is the machine-readable reason, from the ErrorInfo detail or
	// the legacy errors list, e.g. "RATE_LIMIT_EXCEEDED",
	// "SERVICE_DISABLED", "API_KEY_INVALID"; empty when none was given.
	Reason string
	// Message is the API's human-readable message.
	Message string
	// Metadata is the ErrorInfo detail's metadata (e.g. quota_limit,
	// quota_limit_value), nil when absent.
	Metadata map[string]string
	// RetryDelay is the RetryInfo detail's retryDelay, or zero.
	RetryDelay time.Duration
	// Header is the response's header, nil when unknown.
	Header http.Header
}

// Details returns what the *googleapi.Error in err's chain says, and false
// when there is none.
func Details(err error) (Detail, bool) {
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		return Detail{}, false
	}
	d := Detail{Code: gerr.Code, Message: gerr.Message, Header: gerr.Header}
	for _, it := range gerr.Errors {
		if d.Reason == "" && it.Reason != "" {
			d.Reason = it.Reason
		}
	}
	// The body carries what googleapi.Error does not keep typed: the
	// status name and the typed details.
	var body struct {
		Error struct {
			Message string            `json:"message"`
			Status  string            `json:"status"`
			Details []json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(gerr.Body), &body) == nil {
		d.Status = body.Error.Status
		if d.Message == "" {
			d.Message = body.Error.Message
		}
		for _, raw := range body.Error.Details {
			var det struct {
				Type       string            `json:"@type"`
				Reason     string            `json:"reason"`
				Metadata   map[string]string `json:"metadata"`
				RetryDelay string            `json:"retryDelay"`
			}
			if json.Unmarshal(raw, &det) != nil {
				continue
			}
			switch {
			case strings.HasSuffix(det.Type, "google.rpc.ErrorInfo"):
				if det.Reason != "" {
					d.Reason = det.Reason
				}
				d.Metadata = det.Metadata
			case strings.HasSuffix(det.Type, "google.rpc.RetryInfo"):
				if dur, err := time.ParseDuration(det.RetryDelay); err == nil && dur > 0 {
					d.RetryDelay = dur
				}
			}
		}
	}
	return d, true
}

// rateLimitReasons are the reasons of a 403 that means "slow down"
// (older Google APIs answer quota errors with 403 instead of 429).
var rateLimitReasons = map[string]bool{
	"rateLimitExceeded":     true,
	"userRateLimitExceeded": true,
	"RATE_LIMIT_EXCEEDED":   true,
}

// authRefusals are the OAuth2 error codes of a token endpoint that
// refused the credentials themselves.
var authRefusals = map[string]bool{
	"invalid_grant":       true,
	"invalid_client":      true,
	"unauthorized_client": true,
}

// Classify returns nil for a nil err and otherwise err classified as the
// package doc describes, its message prefixed with opts.Request. ctx is
// the call's context (to tell a cancel from a deadline).
func Classify(ctx context.Context, err error, opts Options) error {
	if err == nil {
		return nil
	}
	red := httpclass.NewRedactor(opts.Secrets...)
	prefix := ""
	if opts.Request != "" {
		prefix = red.Redact(opts.Request) + ": "
	}
	if errclass.Of(err) != errclass.Unknown {
		return fmt.Errorf("%s%w", prefix, err)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() == context.Canceled {
		return fmt.Errorf("%s%w", prefix, context.Canceled)
	}
	if d, ok := Details(err); ok {
		return classifyAPI(d, prefix, red, opts)
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		return classifyToken(rerr, prefix, red)
	}
	// A transport failure: the same rules as for any HTTP client.
	return httpclass.Classify(ctx, nil, err, httpclass.Options{Request: strings.TrimSuffix(prefix, ": "), Secrets: opts.Secrets})
}

func classifyAPI(d Detail, prefix string, red *httpclass.Redactor, opts Options) error {
	msg := prefix + Message(d, red)
	retryAfter := httpclass.RetryAfter(d.Header)
	if retryAfter == 0 {
		retryAfter = d.RetryDelay
	}
	switch {
	case d.Code == http.StatusTooManyRequests,
		d.Code == http.StatusForbidden && rateLimitReasons[d.Reason]:
		return &errclass.Error{Class: errclass.RateLimited, RetryAfter: retryAfter, Err: errors.New(msg)}
	case d.Code == http.StatusUnauthorized && !opts.StaticCredentials:
		return errclass.AuthExpiredf("%s", msg)
	case d.Code == http.StatusRequestTimeout, d.Code == http.StatusConflict && d.Status == "ABORTED",
		d.Code >= 500 && d.Code != http.StatusNotImplemented, d.Code == 0:
		return &errclass.Error{Class: errclass.Transient, RetryAfter: retryAfter, Err: errors.New(msg)}
	default:
		return errclass.Permanentf("%s", msg)
	}
}

// Message renders d for an error message: "HTTP 403 PERMISSION_DENIED:
// The caller does not have permission", with the reason when it adds
// something, secrets redacted (red may be nil) and invalid UTF-8 replaced.
func Message(d Detail, red *httpclass.Redactor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", d.Code)
	if d.Status != "" {
		b.WriteString(" " + d.Status)
	} else if t := http.StatusText(d.Code); t != "" {
		b.WriteString(" " + t)
	}
	if d.Reason != "" && d.Reason != d.Status {
		b.WriteString(" (" + d.Reason + ")")
	}
	if m := strings.TrimSpace(d.Message); m != "" {
		b.WriteString(": " + httpclass.Snippet([]byte(m), red))
	}
	return b.String()
}

func classifyToken(rerr *oauth2.RetrieveError, prefix string, red *httpclass.Redactor) error {
	code := 0
	var header http.Header
	if rerr.Response != nil {
		code = rerr.Response.StatusCode
		header = rerr.Response.Header
	}
	// The JWT flow (golang.org/x/oauth2/jwt) leaves ErrorCode empty: read
	// the RFC 6749 error body ourselves.
	errCode, desc := rerr.ErrorCode, rerr.ErrorDescription
	if errCode == "" {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(rerr.Body, &body) == nil {
			errCode, desc = body.Error, body.Description
		}
	}
	what := errCode
	if desc != "" {
		what += ": " + desc
	}
	if what == "" {
		what = httpclass.Snippet(rerr.Body, red)
	}
	msg := fmt.Sprintf("%sfetch an access token: HTTP %d", prefix, code)
	if what != "" {
		msg += ": " + httpclass.Snippet([]byte(what), red)
	}
	switch {
	case authRefusals[errCode] || code == http.StatusUnauthorized:
		return errclass.AuthExpiredf("%s", msg)
	case code == http.StatusTooManyRequests:
		return &errclass.Error{Class: errclass.RateLimited, RetryAfter: httpclass.RetryAfter(header), Err: errors.New(msg)}
	case code == http.StatusRequestTimeout || (code >= 500 && code != http.StatusNotImplemented) || code == 0:
		return &errclass.Error{Class: errclass.Transient, RetryAfter: httpclass.RetryAfter(header), Err: errors.New(msg)}
	default:
		return errclass.Permanentf("%s", msg)
	}
}
