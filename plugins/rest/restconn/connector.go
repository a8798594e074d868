// Package restconn is the rest connector: a source reading one JSON HTTP
// endpoint as one stream, one HTTP request per page, with resumable
// checkpoints that name the next request (a page number, an offset, a
// cursor token or a next URL), six pagination styles, five kinds of auth,
// JSON-to-Arrow conversion with a schema fixed by the first page, and
// incremental reads on a cursor field.
//
// Every failure is classified (package httpclass) and the connector never
// retries: the host does. Keys, types, checkpoints and errors are
// described in docs/connectors/rest.md.
package restconn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/httplink"
	"github.com/sqlflow/sqlflow-host/sdk/httporigin"
	"github.com/sqlflow/sqlflow-host/sdk/pageloop"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// userAgent is sent with every request.
const userAgent = "sqlflow-rest/0.1"

// Connector is the rest source. Its methods may be called from several
// goroutines; a mutex guards its state.
type Connector struct {
	logger hclog.Logger

	mu         sync.Mutex
	cfg        config
	configured bool
	client     *retryablehttp.Client
	scope      httporigin.Scope
	red        *httpclass.Redactor
	digest     *digestAuth
	tokens     *tokenCache
}

// New returns an unconfigured rest connector logging to logger.
func New(logger hclog.Logger) *Connector {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Connector{logger: logger}
}

var _ sdk.Source = (*Connector)(nil)

// Spec describes the rest connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "rest",
		Version:         "0.1.0",
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceNetwork,
		Incremental:     true,
		Discover:        true,
		LocationKeys:    []string{"url", "data_path", "stream_name"},
		// A generic HTTP API: three tries, a breaker after five failures,
		// and a conservative 60 requests a minute per host (most public
		// APIs allow at least that), since we do not know the API's quota.
		Resilience: map[string]any{
			"retry.max_attempts":       3,
			"retry.initial_delay":      1,
			"retry.max_delay":          30,
			"retry.backoff_multiplier": 2.0,
			"retry.jitter":             true,

			"circuit_breaker.enabled":           true,
			"circuit_breaker.failure_threshold": 5,
			"circuit_breaker.recovery_timeout":  60,
			"circuit_breaker.success_threshold": 2,
			"timeout":                           30,

			"rate_limit.enabled":                 true,
			"rate_limit.max_requests_per_minute": 60.0,
			"rate_limit.burst_size":              10,
			"rate_limit.per_host":                true,
			"rate_limit.backpressure_strategy":   "wait",
			// Shared across processes when the run shares limits
			// (run --shared-limits): the quota is the remote API's.
			"rate_limit.shared": true,

			"recovery.enable_connection_recovery": true,
			"recovery.enable_credential_refresh":  true,
			"recovery.recovery_check_interval":    30,
		},
		HostKeys: []string{"url"},
		// The old tool's retry keys at the connector's top level.
		LegacyRetryKeys: true,
	}
}

// Configure validates and applies the configuration. It reaches no server.
// Calling it again (e.g. with refreshed credentials after AUTH_EXPIRED)
// replaces the configuration and drops any cached OAuth2 token or digest
// challenge.
//
// The credentials (auth, headers, secret-looking params, the url's
// userinfo) go only to the url's origin; see [credentialScope].
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, ferrs := parseConfig(raw)
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	scope := credentialScope(cfg)
	client := httpclass.NewClient(cfg.Timeout)
	// The token endpoint is an origin of its own (token_url): its requests
	// share the transport but follow net/http's redirect rules, not the
	// API's scope.
	tokenClient := &http.Client{Transport: client.HTTPClient.Transport, Timeout: client.HTTPClient.Timeout}
	client.HTTPClient.CheckRedirect = scope.CheckRedirect
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg, c.configured, c.client, c.scope = cfg, true, client, scope
	c.red = httpclass.NewRedactor(cfg.Secrets...)
	c.digest, c.tokens = nil, nil
	switch cfg.Auth.Type {
	case authDigest:
		c.digest = &digestAuth{username: cfg.Auth.Username, password: cfg.Auth.Password}
	case authOAuth2:
		c.tokens = newTokenCache(cfg.Auth, tokenClient)
	}
	return nil, nil
}

// credentialScope is where cfg's credentials may go, the url's origin,
// and what carries them there besides Authorization and cookies: the
// api_key's header or query parameter, every header of `headers` but
// Accept, Content-Type and User-Agent (which describe the request, not
// who sends it), and the secret-looking parameters of `params` and of the
// url's own query. A redirect to another origin drops them all (the
// client's CheckRedirect), and so does a request to another origin that
// the connector sends itself (sendOnce, request).
func credentialScope(cfg config) httporigin.Scope {
	scope := httporigin.Scope{Origin: httporigin.Of(cfg.URL)}
	for _, h := range cfg.Headers {
		if !describesRequest(h[0]) {
			scope.Headers = append(scope.Headers, h[0])
		}
	}
	for _, k := range sortedKeys(cfg.Params) {
		if secretLooking(k) {
			scope.Params = append(scope.Params, k)
		}
	}
	for _, k := range sortedKeys(cfg.URL.Query()) {
		if secretLooking(k) {
			scope.Params = append(scope.Params, k)
		}
	}
	if a := cfg.Auth; a.Type == authAPIKey {
		if a.InQuery {
			scope.Params = append(scope.Params, a.KeyName)
		} else {
			scope.Headers = append(scope.Headers, a.KeyName)
		}
	}
	return scope
}

// describesRequest reports whether a header of `headers` describes the
// request rather than its sender, so that it goes to other origins too.
func describesRequest(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Accept", "Content-Type", "User-Agent":
		return true
	}
	return false
}

// session is what one call needs, copied under the mutex.
type session struct {
	logger hclog.Logger
	cfg    config
	client *retryablehttp.Client
	scope  httporigin.Scope
	red    *httpclass.Redactor
	digest *digestAuth
	tokens *tokenCache
}

func (c *Connector) session() (session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return session{}, errclass.Permanentf("rest connector is not configured")
	}
	return session{logger: c.logger, cfg: c.cfg, client: c.client, scope: c.scope, red: c.red, digest: c.digest, tokens: c.tokens}, nil
}

// Check sends the first page's request and checks that the answer is JSON
// with records where data_path says.
func (c *Connector) Check(ctx context.Context) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	st := s.initial()
	f, err := s.fetch(ctx, st, nil)
	if err != nil {
		return err
	}
	body, err := decodeBody(f.body, false)
	if err != nil {
		return notJSON(f.what, f.body, err, s.red)
	}
	_, err = extractRecords(body, s.cfg.DataPath)
	return err
}

// Discover lists the one stream. It sends no request, so its schema is nil:
// the first page fixes it (see `sqlflow-host preview`). A pinned schema
// covering the whole stream is not assumed, since the API may send more.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	return []sdk.Stream{{Name: s.cfg.StreamName}}, nil
}

// checkpoint is the position of a read: the next request to send, plus
// what the read learnt so far. It is JSON, so it survives restarts and
// stays readable in the state file.
type checkpoint struct {
	V int `json:"v"`
	// Pages and Seen count the pages and records fetched before.
	Pages int64 `json:"pages"`
	Seen  int64 `json:"seen,omitempty"`
	// The next request: a page number, an offset, a token, or a URL.
	Page   int64  `json:"page,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	Token  string `json:"token,omitempty"`
	URL    string `json:"url,omitempty"`
	// Schema is the stream's schema, fixed by the first page, as
	// [name, type] pairs: later pages, also in a new process, are built
	// into it.
	Schema [][2]string `json:"schema,omitempty"`
	// Max is the greatest cursor value read so far (incremental reads).
	Max json.RawMessage `json:"max,omitempty"`
	// Prev is a hash of the previous page's body, to catch an API that
	// ignores the page parameter and answers the same page forever.
	Prev string `json:"prev,omitempty"`
	// Loop remembers (as hashes) the positions of the pages read, for
	// the pagination types that follow what the server gives (cursor,
	// next_url, link_header): a next token or link that leads back to a
	// page read before fails the read instead of looping. It lives in the
	// checkpoint so that a restarted plugin keeps it.
	Loop pageloop.Guard `json:"loop,omitzero"`
	// Done marks the checkpoint of the last page: reading from it sends
	// no request and answers an empty, done page.
	Done bool `json:"done,omitempty"`
}

const checkpointVersion = 1

func (s session) initial() checkpoint {
	p := s.cfg.Pagination
	return checkpoint{V: checkpointVersion, Page: p.StartPage, Offset: p.StartOffset}
}

func (s session) decodeCheckpoint(b []byte) (checkpoint, error) {
	if len(b) == 0 {
		return s.initial(), nil
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil || cp.V != checkpointVersion {
		return cp, errclass.Permanentf("checkpoint %q is not one of this rest connector's (version %d)", b, checkpointVersion)
	}
	return cp, nil
}

func (cp checkpoint) columns() ([]column, error) {
	if cp.Schema == nil {
		return nil, nil
	}
	cols := make([]column, len(cp.Schema))
	for i, f := range cp.Schema {
		t, ok := parseTypeName(f[1])
		if !ok {
			return nil, errclass.Permanentf("checkpoint: column %q has unknown type %q", f[0], f[1])
		}
		cols[i] = column{Name: f[0], Type: t}
	}
	return cols, nil
}

// ReadPage fetches the page at req.Checkpoint with exactly one HTTP request
// (two when a digest challenge must be answered first, plus a token
// request when an OAuth2 token is due) and returns its records. The
// checkpoint of the page names the next request, so a page that fails is
// asked again from the same checkpoint and no earlier page is fetched
// again. A failure is returned classified; it never ends the stream early.
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	s, err := c.session()
	if err != nil {
		return sdk.Page{}, err
	}
	if req.Stream != s.cfg.StreamName {
		return sdk.Page{}, errclass.Permanentf("rest source has one stream, %q; no stream %q", s.cfg.StreamName, req.Stream)
	}
	st, err := s.decodeCheckpoint(req.Checkpoint)
	if err != nil {
		return sdk.Page{}, err
	}
	if st.Done {
		return sdk.Page{Checkpoint: req.Checkpoint, Done: true, CursorValue: st.Max}, nil
	}
	label := fmt.Sprintf("page %d", st.Pages+1)
	if limit := s.cfg.Pagination.MaxPages; limit > 0 && st.Pages >= limit {
		// The API has more pages than the user allowed. Stopping here
		// would look like the end of the stream (and a replace would then
		// drop the rest of the target), so the read fails.
		return sdk.Page{}, errclass.Permanentf("stream %q: the API has more than pagination.max_pages (%d) pages: page %d would be next; raise max_pages, or remove it to read every page",
			s.cfg.StreamName, limit, st.Pages+1)
	}
	var stored *string
	if req.CursorField != "" {
		if t, ok := storedParam(req.CursorValue); ok {
			stored = &t
		}
	}
	f, err := s.fetch(ctx, st, stored)
	if err != nil {
		return sdk.Page{}, err
	}
	first := st.Schema == nil
	body, err := decodeBody(f.body, first)
	if err != nil {
		if len(bytes.TrimSpace(f.body)) == 0 {
			body = nil // 204 or an empty body: no records
		} else {
			return sdk.Page{}, notJSON(f.what, f.body, err, s.red)
		}
	}
	records, err := extractRecords(body, s.cfg.DataPath)
	if err != nil {
		return sdk.Page{}, wrapPermanent(f.what, err)
	}

	cols, err := st.columns()
	if err != nil {
		return sdk.Page{}, err
	}
	if cols == nil && (len(records) > 0 || len(s.cfg.Pinned) > 0) {
		if cols, err = inferSchema(records, s.cfg); err != nil {
			return sdk.Page{}, wrapPermanent(f.what, err)
		}
	}

	page := sdk.Page{RateHints: httpclass.RateHints(f.header)}
	next := st
	next.Pages++
	next.Seen += int64(len(records))
	if cols != nil {
		b := newPageBuilder(cols, s.cfg, label)
		defer b.release()
		if req.CursorField != "" {
			if err := b.setCursor(req.CursorField, req.CursorValue, st.Max); err != nil {
				return sdk.Page{}, err
			}
		}
		for i, r := range records {
			if err := b.add(r, i+1); err != nil {
				return sdk.Page{}, wrapPermanent(f.what, err)
			}
		}
		page.Records = b.finish()
		next.Schema = make([][2]string, len(cols))
		for i, col := range cols {
			next.Schema[i] = [2]string{col.Name, string(col.Type)}
		}
		if b.max != nil {
			next.Max = b.max.raw
		}
	}
	page.CursorValue = next.Max

	done, err := s.advance(&next, st, f, body, records)
	if err != nil {
		if page.Records != nil {
			page.Records.Release()
		}
		return sdk.Page{}, wrapPermanent(f.what, err)
	}
	page.Done, next.Done = done, done
	cp, err := json.Marshal(next)
	if err != nil {
		return sdk.Page{}, err
	}
	page.Checkpoint = cp
	return page, nil
}

func wrapPermanent(what string, err error) error {
	if errclass.Of(err) == errclass.Unknown {
		err = errclass.Wrap(errclass.Permanent, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// storedParam renders a stored cursor (JSON) as a parameter value: a
// string unquoted, a number as written; false for null or nothing.
func storedParam(raw json.RawMessage) (string, bool) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return t, true
}

// setCursor turns on the incremental filter and the maximum.
func (b *pageBuilder) setCursor(field string, stored, max json.RawMessage) error {
	i, ok := b.index[field]
	if !ok {
		names := make([]string, len(b.cols))
		for j, c := range b.cols {
			names[j] = c.Name
		}
		return errclass.Permanentf("incremental cursor field %q is not a column of the stream (its columns: %s)", field, strings.Join(names, ", "))
	}
	b.cursor = i
	t := b.cols[i].Type
	var err error
	if b.after, err = parseStoredCursor(stored, t); err != nil {
		return errclass.Permanentf("incremental cursor field %q: %v", field, err)
	}
	if b.max, err = parseStoredCursor(max, t); err != nil {
		return errclass.Permanentf("checkpoint: cursor maximum: %v", err)
	}
	return nil
}

// advance computes the next request from the page just read and reports
// whether the stream is done: an empty page, a short page, no next token
// or link, or the total reached. A next token or link that leads back to
// a page of the read (next.Loop) is a PERMANENT error; max_pages is
// checked by ReadPage before the next request.
func (s session) advance(next *checkpoint, st checkpoint, f *fetched, body any, records []any) (bool, error) {
	p := s.cfg.Pagination
	n := int64(len(records))
	if n > 0 && p.Type != pageNone {
		h := fnv.New64a()
		h.Write(f.body)
		sum := strconv.FormatUint(h.Sum64(), 36)
		if sum == st.Prev {
			return false, errclass.Permanentf("the API answered page %d exactly as page %d: it ignores the pagination parameters (pagination type %s); check the pagination keys",
				st.Pages+1, st.Pages, p.Type)
		}
		next.Prev = sum
	}
	done := n == 0
	switch p.Type {
	case pageNone:
		return true, nil
	case pagePage:
		next.Page = st.Page + 1
		done = done || (p.PageSize > 0 && n < p.PageSize)
	case pageOffset:
		next.Offset = st.Offset + n
		done = done || (p.PageSize > 0 && n < p.PageSize)
	case pageCursor:
		v, _, err := lookup(body, p.NextTokenPath)
		if err != nil {
			return false, errclass.Permanentf("pagination.next_token_path %q: %v", p.NextTokenPath.Text, err)
		}
		tok, _ := scalarText(v)
		if tok == "" {
			done = true
			next.Token = tok
			break
		}
		s.startLoop(next, st, "token:"+st.Token)
		if earlier, loops := next.Loop.Visit("token:" + tok); loops {
			return false, errclass.Permanentf("pagination loops: the next token of page %d, %q, is the one page %d was read with; stopping would truncate the stream and going on would never end",
				st.Pages+1, s.red.Redact(tok), earlier)
		}
		next.Token = tok
	case pageNext, pageLink:
		var link string
		if p.Type == pageNext {
			v, _, err := lookup(body, p.NextURLPath)
			if err != nil {
				return false, errclass.Permanentf("pagination.next_url_path %q: %v", p.NextURLPath.Text, err)
			}
			link, _ = v.(string)
		} else {
			link = httplink.Next(f.header)
		}
		if link == "" {
			done = true
			next.URL = ""
			break
		}
		u, err := f.url.Parse(link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return false, errclass.Permanentf("the next-page link %q is not an http(s) URL", s.red.Redact(link))
		}
		if err := s.checkOrigin(u, fmt.Sprintf("the next-page link of page %d", st.Pages+1)); err != nil {
			return false, err
		}
		if s.stored(u).String() == s.stored(f.url).String() {
			// The page just read, where a redirect took it.
			return false, errclass.Permanentf("pagination loops: the next-page link of page %d, %s, is that page itself; stopping would truncate the stream and going on would never end",
				st.Pages+1, s.showURL(u))
		}
		current := st.URL
		if current == "" {
			current = f.asked.String()
		}
		s.startLoop(next, st, "url:"+s.pageKey(current))
		if earlier, loops := next.Loop.Visit("url:" + s.pageKey(s.withoutAPIKey(u).String())); loops {
			return false, errclass.Permanentf("pagination loops: the next-page link of page %d, %s, leads back to page %d, read already; stopping would truncate the stream and going on would never end",
				st.Pages+1, s.showURL(u), earlier)
		}
		next.URL = s.stored(u).String()
	}
	if len(p.TotalPath.Parts) > 0 {
		if v, found, _ := lookup(body, p.TotalPath); found {
			if num, ok := v.(json.Number); ok {
				if total, err := num.Float64(); err == nil && float64(next.Seen) >= total {
					done = true
				}
			}
		}
	}
	return done, nil
}

// startLoop makes sure next's loop guard knows the page just read, read
// at position current: a read's first page, or a checkpoint of an earlier
// version (without a guard) resumed, start the guard there.
func (s session) startLoop(next *checkpoint, st checkpoint, current string) {
	if next.Loop.Pages == st.Pages+1 {
		return
	}
	next.Loop.Start(st.Pages)
	next.Loop.Visit(current)
}

// pageKey is a URL as the loop guard compares it: without the api_key,
// the fragment or user info, the scheme and host lower-cased and the query
// parameters sorted, so that the same page written two ways is one page.
func (s session) pageKey(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u = s.withoutAPIKey(u)
	v := *u
	v.User, v.Fragment, v.RawFragment = nil, "", ""
	v.Scheme, v.Host = strings.ToLower(v.Scheme), strings.ToLower(v.Host)
	v.RawQuery = v.Query().Encode()
	return v.String()
}

// showURL is a URL for a message: without user info or the api_key, and
// with secret-looking parameters (token=, signature=, ...) redacted.
func (s session) showURL(u *url.URL) string {
	v := *s.withoutAPIKey(u)
	v.User = nil
	return s.red.Redact(v.String())
}

// onOrigin reports whether u is on the url's origin, the only one that
// gets the credentials.
func (s session) onOrigin(u *url.URL) bool { return s.scope.Origin.Contains(u) }

// answeredOnOrigin reports whether resp came from the url's origin, by a
// request (and redirect chain) that never left it.
func (s session) answeredOnOrigin(resp *http.Response) bool {
	return resp != nil && resp.Request != nil && s.scope.Allows(resp.Request)
}

// checkOrigin refuses a next-page URL on another origin than the url's,
// PERMANENT, unless allow_cross_origin_pagination is set. what names the
// link ("the next-page link of page 3"). The message names both origins,
// which hold no userinfo, path or query.
func (s session) checkOrigin(u *url.URL, what string) error {
	if s.onOrigin(u) || s.cfg.AllowCrossOrigin {
		return nil
	}
	return errclass.Permanentf("%s leads to %s, another origin than the url's %s (an origin is a scheme, host and port): "+
		"credentials go only to the url's origin, so the read stops here rather than follow it; "+
		"if the API really pages across origins, set allow_cross_origin_pagination: true, and such links are followed without any credentials",
		what, httporigin.Of(u), s.scope.Origin)
}

// stored is a next-page URL as a checkpoint keeps it: without the api_key
// and without userinfo (credentials are added when it is requested, and
// only on the url's origin).
func (s session) stored(u *url.URL) *url.URL {
	v := *s.withoutAPIKey(u)
	v.User = nil
	return &v
}

// withoutAPIKey drops an api_key placed in the query, so that checkpoints
// never hold it.
func (s session) withoutAPIKey(u *url.URL) *url.URL {
	if s.cfg.Auth.Type != authAPIKey || !s.cfg.Auth.InQuery {
		return u
	}
	q := u.Query()
	if _, ok := q[s.cfg.Auth.KeyName]; !ok {
		return u
	}
	q.Del(s.cfg.Auth.KeyName)
	v := *u
	v.RawQuery = q.Encode()
	return &v
}

// fetched is one successful response.
type fetched struct {
	body   []byte
	header http.Header
	url    *url.URL // the URL answered (after redirects)
	asked  *url.URL // the URL requested, without an api_key
	what   string   // "GET <url>", redacted, for messages
}

// fetch sends the request of st and returns the 2xx response's body, or a
// classified error.
func (s session) fetch(ctx context.Context, st checkpoint, stored *string) (*fetched, error) {
	if _, ok := ctx.Deadline(); !ok && s.cfg.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	u, body, err := s.request(st, stored)
	if err != nil {
		return nil, err
	}
	shown := *u
	shown.User = nil // credentials in the URL never reach a message
	what := s.red.Redact(s.cfg.Method + " " + shown.String())
	resp, err := s.send(ctx, u, body)
	if resp != nil {
		defer resp.Body.Close()
	}
	opts := httpclass.Options{Request: what, Secrets: s.red.Secrets()}
	// Another origin got no token: its 401 says nothing about the token.
	ownToken := s.tokens != nil && err == nil && s.answeredOnOrigin(resp)
	if ownToken {
		opts.AuthExpired = []int{http.StatusUnauthorized}
	}
	if err == nil && resp.StatusCode == http.StatusUnauthorized && ownToken {
		s.tokens.invalidate()
	}
	if cerr := httpclass.Classify(ctx, resp, err, opts); cerr != nil {
		return nil, cerr
	}
	limit := s.cfg.MaxRecordBytes
	tooLarge := func(size string) error {
		return errclass.Permanentf("%s: page %d: the response body is larger than %s (%s%s); ask for smaller pages (pagination.page_size), or %s",
			what, st.Pages+1, recordsize.Key, recordsize.Format(limit), size, recordsize.Advice(limit))
	}
	if resp.ContentLength > limit {
		return nil, tooLarge(fmt.Sprintf("; Content-Length says %d bytes", resp.ContentLength))
	}
	data, err := readBody(resp.Body, resp.ContentLength, limit)
	if errors.Is(err, errBodyTooLarge) {
		return nil, tooLarge("")
	}
	if err != nil {
		return nil, httpclass.Classify(ctx, nil, fmt.Errorf("read the response body: %w", err), opts)
	}
	final := u
	if resp.Request != nil && resp.Request.URL != nil {
		final = resp.Request.URL
	}
	return &fetched{body: data, header: resp.Header, url: final, asked: s.withoutAPIKey(u), what: what}, nil
}

// errBodyTooLarge is readBody's answer to a body over its limit.
var errBodyTooLarge = errors.New("the response body is larger than max_record_bytes")

// readBody reads a response body of at most limit bytes; a longer one is
// errBodyTooLarge, found as soon as the body passes the limit, having held
// about the limit: the buffer doubles, and once that reaches a quarter of
// the limit it goes straight to the limit (append's quarter-steps would
// leave several times the limit in garbage on the way). A Content-Length
// (size >= 0) sizes the buffer at once. The body is decoded only once it
// is known to fit: decoding as it arrives would build JSON values several
// times the size of the bytes before the limit could be seen.
func readBody(r io.Reader, size, limit int64) ([]byte, error) {
	n := int64(64 << 10)
	if size >= 0 {
		n = size + 1 // +1: the end is seen without growing
	}
	buf := make([]byte, 0, min(n, limit+1))
	for {
		if len(buf) == cap(buf) {
			c := int64(2 * cap(buf))
			if c >= limit/4 {
				c = limit + 1
			}
			nb := make([]byte, len(buf), max(c, int64(cap(buf))+1))
			copy(nb, buf)
			buf = nb
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if int64(len(buf)) > limit {
			return nil, errBodyTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// request builds the URL (and, for POST, the JSON body) of st.
func (s session) request(st checkpoint, stored *string) (*url.URL, []byte, error) {
	cfg := s.cfg
	p := cfg.Pagination
	post := cfg.Method == http.MethodPost
	bodyParams := map[string]any{}
	var u url.URL
	if st.URL != "" {
		parsed, err := url.Parse(st.URL)
		if err != nil || !parsed.IsAbs() {
			return nil, nil, errclass.Permanentf("checkpoint: bad next URL %q", s.red.Redact(st.URL))
		}
		// A checkpoint of an older version (or edited) may name another
		// origin: the same rule as for the link itself.
		if err := s.checkOrigin(parsed, "the checkpoint's next-page URL"); err != nil {
			return nil, nil, err
		}
		u = *parsed
		// The url's userinfo is basic auth for its origin only.
		u.User = nil
		if s.onOrigin(&u) {
			u.User = cfg.URL.User
		}
		if post {
			for k, v := range cfg.Params {
				bodyParams[k] = v
			}
		}
	} else {
		u = *cfg.URL
		q := u.Query()
		set := func(k string, v any) {
			if post {
				bodyParams[k] = v
				return
			}
			switch x := v.(type) {
			case []any:
				q.Del(k)
				for _, e := range x {
					if t, ok := scalarText(e); ok {
						q.Add(k, t)
					}
				}
			default:
				if t, ok := scalarText(v); ok {
					q.Set(k, t)
				}
			}
		}
		for _, k := range sortedKeys(cfg.Params) {
			v := cfg.Params[k]
			if _, isObj := v.(map[string]any); isObj && !post {
				return nil, nil, errclass.Permanentf("params.%s: an object cannot be sent in a query string (it can with method: POST)", k)
			}
			set(k, v)
		}
		switch p.Type {
		case pagePage:
			set(p.PageParam, json.Number(strconv.FormatInt(st.Page, 10)))
		case pageOffset:
			set(p.OffsetParam, json.Number(strconv.FormatInt(st.Offset, 10)))
		case pageCursor:
			if st.Token != "" {
				set(p.TokenParam, st.Token)
			}
		}
		if p.Type != pageNone && p.SizeParam != "" && p.PageSize > 0 {
			set(p.SizeParam, json.Number(strconv.FormatInt(p.PageSize, 10)))
		}
		if stored != nil && cfg.CursorParam != "" {
			set(cfg.CursorParam, *stored)
		}
		u.RawQuery = q.Encode()
	}
	if cfg.Auth.Type == authAPIKey && cfg.Auth.InQuery && s.onOrigin(&u) {
		q := u.Query()
		q.Set(cfg.Auth.KeyName, cfg.Auth.KeyValue)
		u.RawQuery = q.Encode()
	}
	var body []byte
	if post {
		var err error
		if body, err = json.Marshal(bodyParams); err != nil {
			return nil, nil, errclass.Permanentf("params: cannot encode as JSON: %v", err)
		}
	}
	return &u, body, nil
}

// send sends one request with auth applied. With digest auth and no
// challenge yet (or a stale one), the server's 401 challenge is answered
// with a second request.
func (s session) send(ctx context.Context, u *url.URL, body []byte) (*http.Response, error) {
	resp, err := s.sendOnce(ctx, u, body)
	if err != nil || s.digest == nil || resp.StatusCode != http.StatusUnauthorized || !s.answeredOnOrigin(resp) {
		return resp, err // another origin's challenge is never answered
	}
	hadChallenge := s.digest.hasChallenge()
	stale, ok := s.digest.setChallenge(resp.Header)
	if !ok || (hadChallenge && !stale) {
		return resp, err // wrong credentials: the 401 stands
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return s.sendOnce(ctx, u, body)
}

func (s session) sendOnce(ctx context.Context, u *url.URL, body []byte) (*http.Response, error) {
	var raw any
	if body != nil {
		raw = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, s.cfg.Method, u.String(), raw)
	if err != nil {
		return nil, errclass.Permanentf("build request %s: %v", s.red.Redact(u.String()), err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !s.onOrigin(u) {
		// Another origin (allow_cross_origin_pagination): no credential
		// of any kind, and of the user's headers only those that
		// describe the request.
		for _, h := range s.cfg.Headers {
			if describesRequest(h[0]) {
				req.Header.Set(h[0], h[1])
			}
		}
		return s.client.Do(req)
	}
	for _, h := range s.cfg.Headers {
		req.Header.Set(h[0], h[1])
	}
	a := s.cfg.Auth
	switch a.Type {
	case authBasic:
		req.SetBasicAuth(a.Username, a.Password)
	case authBearer:
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case authAPIKey:
		if !a.InQuery {
			req.Header.Set(a.KeyName, a.KeyValue)
		}
	case authDigest:
		if h := s.digest.authorization(s.cfg.Method, u.RequestURI()); h != "" {
			req.Header.Set("Authorization", h)
		}
	case authOAuth2:
		tok, err := s.tokens.token(ctx, s.red)
		if err != nil {
			return nil, err
		}
		tok.SetAuthHeader(req.Request)
	}
	return s.client.Do(req)
}

func (d *digestAuth) hasChallenge() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch != nil
}
