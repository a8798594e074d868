package shopifyconn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// maxBodyBytes caps a response body: a page becomes one Arrow batch that
// must fit the protocol's message cap, and 250 Shopify objects are far
// below this.
const maxBodyBytes = 64 << 20

// maxQueryCost is the most points Shopify lets one GraphQL query ask for;
// page sizes are lowered so the requested cost stays under it.
const maxQueryCost = 1000

// userAgent is sent with every request.
const userAgent = "sqlflow-shopify/0.1"

// tokenHeader carries the access token, to the endpoint's origin only.
const tokenHeader = "X-Shopify-Access-Token"

// CallLimitHeader is the REST Admin API's bucket level, "used/size".
const CallLimitHeader = "X-Shopify-Shop-Api-Call-Limit"

// restLeakDivisor turns a REST bucket size into its leak rate: Shopify's
// plans pair a bucket of 40 with 2 requests a second, 80 with 4 and 400
// with 20, always size/20. The header gives the size only, so the rate is
// derived from it rather than assumed per plan.
const restLeakDivisor = 20

// exchange is one HTTP request's outcome.
type exchange struct {
	body   []byte
	header http.Header
	hints  *sdk.RateHints
	url    *url.URL // the URL answered, after redirects
}

// send makes one request and classifies its outcome. what names the
// request in messages ("POST …/graphql.json" or "GET …/orders.json").
func (s *session) send(ctx context.Context, method, url string, body []byte, what string) (exchange, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return exchange{}, errclass.Permanentf("%s: %v", what, err)
	}
	req.Header.Set(tokenHeader, s.cfg.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return exchange{}, httpclass.Classify(ctx, resp, err, httpclass.Options{Request: what, Secrets: []string{s.cfg.Token}})
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	ex := exchange{body: b, header: resp.Header, hints: restHints(resp.Header), url: resp.Request.URL}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body = io.NopCloser(bytes.NewReader(b))
		cerr := httpclass.Classify(ctx, resp, nil, httpclass.Options{Request: what, Secrets: []string{s.cfg.Token}})
		return ex, s.explainStatus(resp.StatusCode, b, what, cerr)
	}
	if rerr != nil {
		return ex, httpclass.Classify(ctx, nil, rerr, httpclass.Options{Request: what, Secrets: []string{s.cfg.Token}})
	}
	if len(b) > maxBodyBytes {
		return ex, errclass.Permanentf("%s: the response is larger than %d MiB; lower page_size", what, maxBodyBytes>>20)
	}
	return ex, nil
}

// scopeRe finds the access scope in Shopify's 403 messages, e.g. "This
// action requires merchant approval for read_orders scope."
var scopeRe = regexp.MustCompile(`\b((?:read|write|unauthenticated_read)_[a-z_]+)\b`)

// explainStatus keeps Classify's class and retry-after and, for the
// statuses a user must act on, says what to do.
func (s *session) explainStatus(status int, body []byte, what string, cerr error) error {
	said := httpclass.Snippet(shopifyMessage(body), httpclass.NewRedactor(s.cfg.Token))
	switch status {
	case http.StatusUnauthorized:
		return errclass.Permanentf("%s: Shopify refused the access token (HTTP 401: %s); check access_token: it must be the Admin API access token (shpat_…) of a custom app installed on %s",
			what, said, s.cfg.Shop)
	case http.StatusForbidden:
		if m := scopeRe.FindStringSubmatch(string(body)); m != nil {
			return errclass.Permanentf("%s: the access token lacks the access scope %s (HTTP 403: %s); add %s to the custom app's Admin API access scopes and install the app again",
				what, m[1], said, m[1])
		}
		return errclass.Permanentf("%s: Shopify denied access (HTTP 403: %s); check the custom app's Admin API access scopes (docs/connectors/shopify.md lists the scope of each object)", what, said)
	case http.StatusPaymentRequired:
		return errclass.Permanentf("%s: the shop %s is frozen or unpaid (HTTP 402: %s)", what, s.cfg.Shop, said)
	case http.StatusNotFound:
		return errclass.Permanentf("%s: not found (HTTP 404: %s); check shop_domain (%s) and api_version (%s)", what, said, s.cfg.Shop, s.cfg.APIVersion)
	case http.StatusLocked:
		return errclass.Permanentf("%s: the shop %s is locked (HTTP 423: %s)", what, s.cfg.Shop, said)
	}
	return cerr
}

// shopifyMessage returns the "errors" member of an error body when it has
// one (a string, a list or an object), else the body.
func shopifyMessage(body []byte) []byte {
	var v struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &v) == nil && len(v.Errors) > 0 {
		var s string
		if json.Unmarshal(v.Errors, &s) == nil {
			return []byte(s)
		}
		return v.Errors
	}
	return body
}

// restHints reads X-Shopify-Shop-Api-Call-Limit ("32/40": 32 used of a
// bucket of 40) and Retry-After into rate hints: Remaining 8, Limit 40,
// RestoreRate 40/20 = 2 a second, Cost 1. Nil when neither is there.
func restHints(h http.Header) *sdk.RateHints {
	var hints sdk.RateHints
	found := false
	if v := h.Get(CallLimitHeader); v != "" {
		used, size, ok := strings.Cut(strings.TrimSpace(v), "/")
		u, err1 := strconv.ParseFloat(strings.TrimSpace(used), 64)
		l, err2 := strconv.ParseFloat(strings.TrimSpace(size), 64)
		if ok && err1 == nil && err2 == nil && l > 0 && u >= 0 {
			hints.Limit = l
			hints.Remaining = math.Max(l-u, 0)
			hints.RestoreRate = l / restLeakDivisor
			hints.Cost = 1
			found = true
		}
	}
	if ra := httpclass.RetryAfter(h); ra > 0 {
		hints.RetryAfter = ra
		found = true
	}
	if !found {
		return nil
	}
	return &hints
}

// gqlCost is a GraphQL response's extensions.cost.
type gqlCost struct {
	RequestedQueryCost float64  `json:"requestedQueryCost"`
	ActualQueryCost    *float64 `json:"actualQueryCost"`
	ThrottleStatus     struct {
		MaximumAvailable   float64 `json:"maximumAvailable"`
		CurrentlyAvailable float64 `json:"currentlyAvailable"`
		RestoreRate        float64 `json:"restoreRate"`
	} `json:"throttleStatus"`
}

// hints are the rate hints of a GraphQL response: the bucket's level, size
// and restore rate as Shopify reported them, and the query's requested
// cost, which is what the next page's query (the same query) must find in
// the bucket.
func (c *gqlCost) hints() *sdk.RateHints {
	if c == nil || c.ThrottleStatus.MaximumAvailable <= 0 {
		return nil
	}
	cost := c.RequestedQueryCost
	if c.ActualQueryCost != nil && *c.ActualQueryCost > cost {
		cost = *c.ActualQueryCost
	}
	return &sdk.RateHints{
		Remaining:   c.ThrottleStatus.CurrentlyAvailable,
		Limit:       c.ThrottleStatus.MaximumAvailable,
		RestoreRate: c.ThrottleStatus.RestoreRate,
		Cost:        cost,
	}
}

// wait is how long the bucket needs to hold the query's requested cost
// again: the deficit over the restore rate, rounded up to a millisecond.
func (c *gqlCost) wait() time.Duration {
	ts := c.ThrottleStatus
	deficit := c.RequestedQueryCost - ts.CurrentlyAvailable
	if deficit <= 0 {
		deficit = 1
	}
	if ts.RestoreRate <= 0 {
		return time.Second
	}
	ms := math.Ceil(deficit / ts.RestoreRate * 1000)
	return time.Duration(ms) * time.Millisecond
}

// gqlError is one member of a GraphQL response's errors.
type gqlError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code           string `json:"code"`
		RequiredAccess string `json:"requiredAccess"`
		Cost           any    `json:"cost"`
		MaxCost        any    `json:"maxCost"`
	} `json:"extensions"`
}

// graphql posts one query and returns its data. The errors of a response
// are classified: THROTTLED is RATE_LIMITED with the wait the restore rate
// gives, ACCESS_DENIED is PERMANENT naming the scope Shopify asks for,
// INTERNAL_SERVER_ERROR is TRANSIENT, anything else PERMANENT.
func (s *session) graphql(ctx context.Context, query string, vars map[string]any) (map[string]any, *sdk.RateHints, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	url := s.cfg.Base + "/admin/api/" + s.cfg.APIVersion + "/graphql.json"
	what := "POST " + url
	ex, err := s.send(ctx, http.MethodPost, url, body, what)
	if err != nil {
		return nil, ex.hints, err
	}
	var resp struct {
		Data       json.RawMessage `json:"data"`
		Errors     json.RawMessage `json:"errors"`
		Extensions struct {
			Cost *gqlCost `json:"cost"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(ex.body, &resp); err != nil {
		return nil, nil, errclass.Permanentf("%s: the response is not GraphQL JSON (%v); it starts: %s", what, err, httpclass.Snippet(ex.body, nil))
	}
	hints := resp.Extensions.Cost.hints()
	if len(resp.Errors) > 0 && string(resp.Errors) != "null" {
		return nil, hints, s.gqlErrors(what, resp.Errors, resp.Extensions.Cost)
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(resp.Data))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil || data == nil {
		return nil, hints, errclass.Permanentf("%s: the response has no data", what)
	}
	return data, hints, nil
}

func (s *session) gqlErrors(what string, raw json.RawMessage, cost *gqlCost) error {
	var errs []gqlError
	if err := json.Unmarshal(raw, &errs); err != nil || len(errs) == 0 {
		// Some failures answer "errors" as a string.
		return errclass.Permanentf("%s: Shopify answered: %s", what, httpclass.Snippet(shopifyMessage([]byte(`{"errors":`+string(raw)+`}`)), httpclass.NewRedactor(s.cfg.Token)))
	}
	for _, e := range errs {
		switch e.Extensions.Code {
		case "THROTTLED":
			wait := time.Second
			if cost != nil {
				wait = cost.wait()
			}
			var level string
			if cost != nil {
				level = fmt.Sprintf(" (the query costs %.0f points, %.0f of %.0f are available, restoring %.0f a second)",
					cost.RequestedQueryCost, cost.ThrottleStatus.CurrentlyAvailable, cost.ThrottleStatus.MaximumAvailable, cost.ThrottleStatus.RestoreRate)
			}
			return errclass.RateLimitedf(wait, "%s: throttled by Shopify's GraphQL cost limit%s; retry in %v", what, level, wait)
		}
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, strings.ToValidUTF8(e.Message, "\uFFFD"))
	}
	said := strings.Join(msgs, "; ")
	for _, e := range errs {
		switch e.Extensions.Code {
		case "ACCESS_DENIED":
			scope := ""
			if m := scopeRe.FindStringSubmatch(e.Extensions.RequiredAccess + " " + e.Message); m != nil {
				scope = m[1]
			}
			if scope != "" {
				return errclass.Permanentf("%s: the access token lacks the access scope %s (Shopify: %s); add %s to the custom app's Admin API access scopes and install the app again",
					what, scope, said, scope)
			}
			if e.Extensions.RequiredAccess != "" {
				return errclass.Permanentf("%s: access denied; Shopify requires %s (Shopify: %s)", what, e.Extensions.RequiredAccess, said)
			}
			return errclass.Permanentf("%s: access denied (Shopify: %s); check the custom app's access scopes", what, said)
		case "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE":
			return errclass.Transientf("%s: Shopify had an internal error: %s", what, said)
		case "MAX_COST_EXCEEDED":
			return errclass.Permanentf("%s: the query costs more than Shopify allows (%s); lower page_size or child_page_size", what, said)
		}
	}
	return errclass.Permanentf("%s: Shopify answered with errors: %s", what, said)
}

// get sends one REST request (path under /admin/api/<version>/, query
// already encoded) and returns the decoded body and the page_info of the
// rel="next" link, if any.
func (s *session) get(ctx context.Context, pathAndQuery string) (map[string]any, string, *sdk.RateHints, error) {
	url := s.cfg.Base + "/admin/api/" + s.cfg.APIVersion + "/" + pathAndQuery
	what := "GET " + url
	ex, err := s.send(ctx, http.MethodGet, url, nil, what)
	if err != nil {
		return nil, "", ex.hints, err
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(ex.body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return nil, "", ex.hints, errclass.Permanentf("%s: the response is not a JSON object (%v); it starts: %s", what, err, httpclass.Snippet(ex.body, nil))
	}
	next, err := s.nextPageInfo(ex.header, ex.url)
	if err != nil {
		return nil, "", ex.hints, errclass.Permanentf("%s: %w", what, err)
	}
	return body, next, ex.hints, nil
}
