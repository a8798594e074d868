package googleclass_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"

	"github.com/sqlflow/sqlflow-host/sdk/classify/googleclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// apiError builds the error a google.golang.org/api client returns for a
// response with this status, header and body.
func apiError(t *testing.T, code int, header http.Header, body string) error {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	resp := &http.Response{StatusCode: code, Header: header, Body: io.NopCloser(strings.NewReader(body))}
	err := googleapi.CheckResponse(resp)
	if err == nil {
		t.Fatalf("status %d gave no error", code)
	}
	return err
}

const quotaBody = `{"error":{"code":429,"message":"Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com'.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"googleapis.com","metadata":{"quota_limit":"ReadRequestsPerMinutePerUser","quota_limit_value":"60"}}]}}`

func TestClassifyAPIErrors(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		header     http.Header
		body       string
		opts       googleclass.Options
		class      errclass.Class
		retryAfter time.Duration
		contains   []string
		lacks      []string
	}{
		{name: "429 quota", code: 429, body: quotaBody, class: errclass.RateLimited,
			contains: []string{"HTTP 429 RESOURCE_EXHAUSTED (RATE_LIMIT_EXCEEDED)", "Read requests per minute per user"}},
		{name: "429 retry-after header", code: 429, header: http.Header{"Retry-After": {"7"}}, body: quotaBody,
			class: errclass.RateLimited, retryAfter: 7 * time.Second},
		{name: "429 retry info", code: 429, class: errclass.RateLimited, retryAfter: 12 * time.Second,
			body: `{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}`},
		{name: "403 legacy rate limit", code: 403, class: errclass.RateLimited,
			body: `{"error":{"code":403,"message":"User Rate Limit Exceeded","errors":[{"reason":"userRateLimitExceeded","message":"User Rate Limit Exceeded"}]}}`},
		{name: "403 permission denied", code: 403, class: errclass.Permanent,
			body:     `{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`,
			contains: []string{"HTTP 403 PERMISSION_DENIED: The caller does not have permission"}},
		{name: "403 service disabled", code: 403, class: errclass.Permanent,
			body:     `{"error":{"code":403,"message":"Google Sheets API has not been used in project 1 before or it is disabled.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED"}]}}`,
			contains: []string{"(SERVICE_DISABLED)"}},
		{name: "404", code: 404, class: errclass.Permanent,
			body: `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}`, contains: []string{"NOT_FOUND"}},
		{name: "400 bad range", code: 400, class: errclass.Permanent,
			body: `{"error":{"code":400,"message":"Unable to parse range: Nope!A1","status":"INVALID_ARGUMENT"}}`},
		{name: "401 token", code: 401, class: errclass.AuthExpired,
			body: `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`},
		{name: "401 api key", code: 401, opts: googleclass.Options{StaticCredentials: true}, class: errclass.Permanent,
			body: `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`},
		{name: "409 aborted", code: 409, class: errclass.Transient, body: `{"error":{"code":409,"message":"aborted","status":"ABORTED"}}`},
		{name: "409 already exists", code: 409, class: errclass.Permanent, body: `{"error":{"code":409,"message":"exists","status":"ALREADY_EXISTS"}}`},
		{name: "500", code: 500, class: errclass.Transient, body: `{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}`},
		{name: "503 retry-after", code: 503, header: http.Header{"Retry-After": {"3"}}, class: errclass.Transient, retryAfter: 3 * time.Second,
			body: `{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE"}}`},
		{name: "502 html", code: 502, class: errclass.Transient, body: `<html>bad gateway</html>`, contains: []string{"HTTP 502 Bad Gateway"}},
		{name: "501", code: 501, class: errclass.Permanent, body: `{"error":{"code":501,"message":"no","status":"UNIMPLEMENTED"}}`},
		{name: "secret redacted", code: 400, opts: googleclass.Options{Request: "values.get key=AIzaSECRETKEY", Secrets: []string{"AIzaSECRETKEY"}},
			class: errclass.Permanent, body: `{"error":{"code":400,"message":"API key not valid: AIzaSECRETKEY","status":"INVALID_ARGUMENT"}}`,
			lacks: []string{"AIzaSECRETKEY"}, contains: []string{"values.get key=***: HTTP 400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := googleclass.Classify(context.Background(), apiError(t, tt.code, tt.header, tt.body), tt.opts)
			if got := errclass.Of(err); got != tt.class {
				t.Fatalf("class %v, want %v (%v)", got, tt.class, err)
			}
			if got := errclass.RetryAfter(err); got != tt.retryAfter {
				t.Errorf("retry after %v, want %v", got, tt.retryAfter)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err, s)
				}
			}
			for _, s := range tt.lacks {
				if strings.Contains(err.Error(), s) {
					t.Errorf("message %q holds %q", err, s)
				}
			}
		})
	}
}

func TestDetails(t *testing.T) {
	d, ok := googleclass.Details(apiError(t, 429, nil, quotaBody))
	if !ok {
		t.Fatal("no details")
	}
	if d.Code != 429 || d.Status != "RESOURCE_EXHAUSTED" || d.Reason != "RATE_LIMIT_EXCEEDED" || d.Metadata["quota_limit_value"] != "60" {
		t.Errorf("details %+v", d)
	}
	if _, ok := googleclass.Details(errors.New("plain")); ok {
		t.Error("a plain error has details")
	}
}

func TestClassifyTokenErrors(t *testing.T) {
	tokenErr := func(code int, errCode, desc string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: code, Header: http.Header{}}, ErrorCode: errCode, ErrorDescription: desc}
	}
	tests := []struct {
		name  string
		err   error
		class errclass.Class
	}{
		{"invalid grant", tokenErr(400, "invalid_grant", "Invalid JWT Signature."), errclass.AuthExpired},
		{"invalid client", tokenErr(401, "invalid_client", "The OAuth client was not found."), errclass.AuthExpired},
		{"bad request", tokenErr(400, "invalid_scope", "bad scope"), errclass.Permanent},
		{"jwt flow body only", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, Body: []byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)}, errclass.AuthExpired},
		{"429", tokenErr(429, "", ""), errclass.RateLimited},
		{"503", tokenErr(503, "", ""), errclass.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := googleclass.Classify(context.Background(), tt.err, googleclass.Options{})
			if got := errclass.Of(err); got != tt.class {
				t.Fatalf("class %v, want %v (%v)", got, tt.class, err)
			}
			if !strings.Contains(err.Error(), "access token") {
				t.Errorf("message %q does not say it was the token", err)
			}
		})
	}
}

func TestClassifyOther(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := googleclass.Classify(ctx, &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, googleclass.Options{})
	if !errors.Is(err, context.Canceled) || errclass.Of(err) != errclass.Unknown {
		t.Errorf("cancel: %v (class %v)", err, errclass.Of(err))
	}
	err = googleclass.Classify(context.Background(), &url.Error{Op: "Get", URL: "http://x", Err: errors.New("connection refused")}, googleclass.Options{})
	if errclass.Of(err) != errclass.Transient {
		t.Errorf("connection refused: %v (class %v)", err, errclass.Of(err))
	}
	err = googleclass.Classify(context.Background(), errclass.Permanentf("already"), googleclass.Options{Request: "get"})
	if errclass.Of(err) != errclass.Permanent || err.Error() != "get: already" {
		t.Errorf("classified: %v", err)
	}
	if googleclass.Classify(context.Background(), nil, googleclass.Options{}) != nil {
		t.Error("nil gave an error")
	}
}
