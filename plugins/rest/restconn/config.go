package restconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
	"github.com/sqlflow/sqlflow-host/sdk/recordsize"
)

// Pagination styles.
const (
	pageNone   = "none"
	pagePage   = "page"
	pageOffset = "offset"
	pageCursor = "cursor"
	pageNext   = "next_url"
	pageLink   = "link_header"
)

// Auth types.
const (
	authBasic  = "basic"
	authDigest = "digest"
	authBearer = "bearer"
	authAPIKey = "api_key"
	authOAuth2 = "oauth2"
)

// defaultTimeout bounds each HTTP request when neither the `timeout` key
// nor the host's per-call deadline does (resilience off): the old
// connector's default. It is not a client timeout, so that a host deadline
// longer than 30 s (the old `timeout` key, which the host takes over) is
// not cut short.
const defaultTimeout = 30 * time.Second

// config is a validated configuration.
type config struct {
	URL        *url.URL
	Method     string
	Headers    [][2]string // in key order
	Params     map[string]any
	Auth       authConfig
	Pagination pagination
	DataPath   path_
	Flatten    bool
	// Timeout is the `timeout` key: every request's client timeout; zero
	// when not given.
	Timeout    time.Duration
	StreamName string
	// Pinned are the explicit column types of `schema:`, by column name.
	Pinned map[string]colType
	// CursorParam is the query parameter (body field for POST) carrying
	// the stored incremental cursor; empty sends none.
	CursorParam string
	// IgnoreNewFields drops fields the first page did not have instead of
	// failing the read.
	IgnoreNewFields bool
	// InferDecimals types a field whose numbers on the first page all
	// have the same number (>= 1) of fraction digits, without an
	// exponent, as decimal(38, that number) (infer_decimals; default true).
	InferDecimals bool
	// MaxRecordBytes caps one response body (max_record_bytes).
	MaxRecordBytes int64
	// AllowCrossOrigin follows next-page links (next_url, link_header) to
	// other origins than URL's, sending them no credentials
	// (allow_cross_origin_pagination); without it such a link fails the
	// read.
	AllowCrossOrigin bool
	// Secrets are every credential of the config, redacted from messages.
	Secrets []string
}

type authConfig struct {
	Type               string
	Username, Password string
	Token              string
	KeyName, KeyValue  string
	InQuery            bool
	TokenURL           string
	ClientID           string
	ClientSecret       string
	Scopes             []string
	EndpointParams     url.Values
	AuthStyle          string // auto, header, params
}

type pagination struct {
	Type          string
	PageParam     string
	StartPage     int64
	SizeParam     string
	PageSize      int64
	OffsetParam   string
	StartOffset   int64
	TokenParam    string
	NextTokenPath path_
	NextURLPath   path_
	TotalPath     path_
	MaxPages      int64
}

// path_ is a parsed dot path: "data.items.0" → ["data", "items", "0"].
type path_ struct {
	Text  string
	Parts []string
}

func parsePath(s string) (path_, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$.")
	if s == "" || s == "$" {
		return path_{}, true
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return path_{}, false
		}
	}
	return path_{Text: s, Parts: parts}, true
}

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	URL              string            `config:"url,required,nonempty" msg:"must be a non-empty string, the endpoint's absolute URL (http:// or https://)" doc:"the endpoint's absolute URL, e.g. https://api.example.com/v1/items"`
	Method           string            `config:"method" default:"GET" doc:"GET or POST."`
	Headers          map[string]any    `config:"headers" msg:"must be a map of header name to value" doc:"Request headers: name to a string, number or boolean."`
	Params           map[string]any    `config:"params" msg:"must be a map of parameter name to value" doc:"Query parameters (GET) or JSON body fields (POST)."`
	Auth             *authKey          `config:"auth" doc:"type: basic, digest, bearer, api_key or oauth2, and that type's keys."`
	Pagination       *paginationKeys   `config:"pagination"`
	DataPath         dotPath           `config:"data_path" doc:"The dot path of the records in the response body, e.g. data.items."`
	Flatten          bool              `config:"flatten_response" default:"true"`
	InferDecimals    bool              `config:"infer_decimals" default:"true"`
	StreamName       string            `config:"stream_name,nonempty" msg:"must be a non-empty string" doc:"The stream's name; default: the URL path's last segment."`
	Schema           columns           `config:"schema" doc:"Explicit column types: a map of name to type or a list of {name, type}."`
	CursorParam      *string           `config:"cursor_param" msg:"must be a string (the query parameter carrying the stored cursor; \"\" sends none)" doc:"The query parameter carrying the stored incremental cursor (default since); \"\" sends none."`
	NewFields        string            `config:"new_fields" default:"fail" enum:"fail,ignore" doc:"A field the first page did not have: fail the read, or ignore it."`
	MaxRecord        recordsize.Bytes  `config:"max_record_bytes" default:"67108864"`
	AllowCrossOrigin bool              `config:"allow_cross_origin_pagination" doc:"Follow next-page links to other origins, sending them no credentials."`
	Timeout          *sdkconfig.Number `config:"timeout" doc:"Seconds per request."`
	MaxRetries       *sdkconfig.Number `config:"max_retries" doc:"The old retry knob; the host maps it onto its resilience policy."`
	RetryDelay       *sdkconfig.Number `config:"retry_delay" doc:"The old retry knob; the host maps it onto its resilience policy."`
}

// paginationKeys is the pagination block.
type paginationKeys struct {
	Type          pageType `config:"type" doc:"none, page, offset, cursor, next_url or link_header; page when left out."`
	PageParam     string   `config:"page_param,nonempty" default:"page"`
	StartPage     int64    `config:"start_page" default:"1" min:"0"`
	SizeParam     *string  `config:"size_param,nonempty"`
	PageSize      int64    `config:"page_size" min:"1"`
	OffsetParam   string   `config:"offset_param,nonempty" default:"offset"`
	LimitParam    *string  `config:"limit_param,nonempty"`
	StartOffset   int64    `config:"start_offset" min:"0"`
	TokenParam    string   `config:"token_param,nonempty" default:"cursor"`
	NextTokenPath *dotPath `config:"next_token_path"`
	NextURLPath   *dotPath `config:"next_url_path"`
	TotalPath     *dotPath `config:"total_path"`
	MaxPages      int64    `config:"max_pages" min:"1"`
	CursorParam   *string  `config:"cursor_param" msg:"must be a string (the query parameter carrying the stored incremental cursor)"`
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
var configSchema = sdkconfig.Schema(keys{})

// parseConfig validates raw. Problems come back as field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	var k keys
	errs := sdkconfig.Errors((sdkconfig.Decoder{Name: "rest"}).Decode(raw, &k))
	bad := errs.Addf
	cfg := config{Method: "GET", Flatten: k.Flatten, InferDecimals: k.InferDecimals, CursorParam: "since", Pagination: pagination{Type: pageNone},
		MaxRecordBytes: int64(k.MaxRecord), Params: k.Params, DataPath: path_(k.DataPath), StreamName: k.StreamName, Pinned: k.Schema,
		IgnoreNewFields: k.NewFields == "ignore", AllowCrossOrigin: k.AllowCrossOrigin}
	if s := strings.TrimSpace(k.URL); s != "" {
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url", "must be an absolute http:// or https:// URL, got %q", k.URL)
		} else {
			cfg.URL = u
		}
	}
	switch m := strings.ToUpper(strings.TrimSpace(k.Method)); m {
	case "GET", "POST":
		cfg.Method = m
	default:
		bad("method", "must be GET or POST, got %q", k.Method)
	}
	for _, name := range sortedKeys(k.Headers) {
		s, ok := scalarText(k.Headers[name])
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " :\r\n") || strings.ContainsAny(s, "\r\n") {
			bad("headers."+name, "must be a header name mapped to a string, number or boolean on one line")
			continue
		}
		cfg.Headers = append(cfg.Headers, [2]string{name, s})
		if secretLooking(name) {
			cfg.Secrets = append(cfg.Secrets, s, credentialOf(s))
		}
	}
	for name, pv := range k.Params {
		if s, ok := scalarText(pv); ok && secretLooking(name) {
			cfg.Secrets = append(cfg.Secrets, s)
		}
	}
	if k.Auth != nil {
		cfg.Auth = k.Auth.authConfig
		cfg.Secrets = append(cfg.Secrets, k.Auth.secrets...)
	}
	if k.CursorParam != nil {
		cfg.CursorParam = *k.CursorParam
	}
	if k.Pagination != nil {
		errs = append(errs, k.Pagination.apply(&cfg)...)
	}
	if strings.TrimSpace(k.StreamName) == "" && k.StreamName != "" {
		bad("stream_name", "must be a non-empty string, got %q", k.StreamName)
	}
	if t := k.Timeout; t != nil {
		if *t <= 0 {
			bad("timeout", "must be a positive number of seconds, got %v", float64(*t))
		} else {
			cfg.Timeout = time.Duration(float64(*t) * float64(time.Second))
		}
	}
	// max_retries and retry_delay are the old retry knobs: the host maps
	// them onto the resilience policy (with a deprecation warning).
	// Accepted and otherwise ignored here: this connector never retries on
	// its own.
	if n := k.MaxRetries; n != nil && (*n < 0 || float64(*n) != float64(int64(*n))) {
		bad("max_retries", "must be a non-negative integer, got %v", float64(*n))
	}
	if n := k.RetryDelay; n != nil && *n < 0 {
		bad("retry_delay", "must be a non-negative number of seconds, got %v", float64(*n))
	}
	if cfg.StreamName == "" && cfg.URL != nil {
		cfg.StreamName = streamNameOf(cfg.URL)
	}
	return cfg, errs
}

// streamNameOf is the last non-empty segment of the URL's path ("items"
// for /v1/items/, "orders" for /admin/orders.json), or the host's first label when the path is empty.
func streamNameOf(u *url.URL) string {
	p := strings.TrimRight(u.Path, "/")
	if p != "" {
		if b := path.Base(p); b != "" && b != "/" && b != "." {
			if un, err := url.PathUnescape(b); err == nil {
				b = un
			}
			return strings.TrimSuffix(b, ".json")
		}
	}
	host := u.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	if host == "" {
		return "data"
	}
	return host
}

// authKey is the auth block: its keys depend on its type.
type authKey struct {
	authConfig
	// secrets are the block's credentials, redacted from messages.
	secrets []string
}

// The auth types' keys.
type (
	basicAuth struct {
		Type     string           `config:"type"`
		Username string           `config:"username,required,nonempty"`
		Password sdkconfig.Secret `config:"password"`
	}
	bearerAuth struct {
		Type  string           `config:"type"`
		Token sdkconfig.Secret `config:"token,required,nonempty"`
	}
	apiKeyAuth struct {
		Type     string           `config:"type"`
		KeyName  string           `config:"key_name,nonempty" default:"X-API-Key" msg:"must not be empty (the header or query parameter name; default X-API-Key)"`
		KeyValue sdkconfig.Secret `config:"key_value,required,nonempty"`
		In       string           `config:"in" doc:"header (the default) or query."`
	}
	oauth2Auth struct {
		Type           string           `config:"type"`
		TokenURL       string           `config:"token_url,required,nonempty"`
		ClientID       string           `config:"client_id,required,nonempty"`
		ClientSecret   sdkconfig.Secret `config:"client_secret,required,nonempty"`
		Scopes         scopes           `config:"scopes"`
		EndpointParams map[string]any   `config:"endpoint_params" msg:"must be a map of name to value (e.g. audience)"`
		AuthStyle      string           `config:"auth_style" default:"auto" enum:"auto,header,params"`
	}
)

// UnmarshalConfig reads the block: its type, then that type's keys.
func (a *authKey) UnmarshalConfig(raw json.RawMessage) error {
	var head struct {
		Type *string `json:"type"`
	}
	if json.Unmarshal(raw, &head) != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return fmt.Errorf("must be a map with a type: basic, digest, bearer, api_key or oauth2, got %s", raw)
	}
	if head.Type == nil {
		return sdkconfig.Errors{{Field: "type", Message: "is required: basic, digest, bearer, api_key or oauth2"}}
	}
	typ := *head.Type
	c := authConfig{KeyName: "X-API-Key", AuthStyle: "auto"}
	switch t := strings.ToLower(strings.TrimSpace(typ)); t {
	case "oauth2", "oauth2_client_credentials", "client_credentials":
		c.Type = authOAuth2
	case authBasic, authDigest, authBearer, authAPIKey:
		c.Type = t
	case "apikey", "api-key":
		c.Type = authAPIKey
	default:
		return sdkconfig.Errors{{Field: "type", Message: fmt.Sprintf("must be basic, digest, bearer, api_key or oauth2, got %q", typ)}}
	}
	var errs sdkconfig.Errors
	decodeAs := func(dst any) {
		for _, e := range sdkconfig.Decode(raw, dst) {
			if strings.HasPrefix(e.Message, "unknown key") {
				e.Message += " (auth type " + c.Type + ")"
			}
			errs = append(errs, e)
		}
	}
	switch c.Type {
	case authBasic, authDigest:
		var k basicAuth
		decodeAs(&k)
		c.Username, c.Password = k.Username, k.Password.Value()
		a.secrets = []string{c.Password}
	case authBearer:
		var k bearerAuth
		decodeAs(&k)
		c.Token = k.Token.Value()
		a.secrets = []string{c.Token}
	case authAPIKey:
		var k apiKeyAuth
		decodeAs(&k)
		c.KeyName, c.KeyValue = k.KeyName, k.KeyValue.Value()
		switch strings.ToLower(k.In) {
		case "", "header":
		case "query", "query_string", "querystring", "params":
			c.InQuery = true
		default:
			errs = append(errs, sdk.FieldError{Field: "in", Message: fmt.Sprintf("must be header or query, got %q", k.In)})
		}
		a.secrets = []string{c.KeyValue}
	case authOAuth2:
		var k oauth2Auth
		decodeAs(&k)
		c.TokenURL, c.ClientID, c.ClientSecret, c.Scopes, c.AuthStyle = k.TokenURL, k.ClientID, k.ClientSecret.Value(), k.Scopes, k.AuthStyle
		if c.TokenURL != "" {
			if u, err := url.Parse(c.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, sdk.FieldError{Field: "token_url", Message: fmt.Sprintf("must be an absolute http:// or https:// URL, got %q", c.TokenURL)})
			}
		}
		if k.EndpointParams != nil {
			c.EndpointParams = url.Values{}
			for _, name := range sortedKeys(k.EndpointParams) {
				s, ok := scalarText(k.EndpointParams[name])
				if !ok {
					errs = append(errs, sdk.FieldError{Field: "endpoint_params." + name, Message: "must be a string, number or boolean"})
					continue
				}
				c.EndpointParams.Set(name, s)
			}
		}
		a.secrets = []string{c.ClientSecret}
	}
	if len(errs) > 0 {
		return errs
	}
	a.authConfig = c
	return nil
}

// ConfigSchema describes the auth block.
func (authKey) ConfigSchema() map[string]any {
	var oneOf []any
	for _, k := range []any{basicAuth{}, bearerAuth{}, apiKeyAuth{}, oauth2Auth{}} {
		var s map[string]any
		_ = json.Unmarshal(sdkconfig.Schema(k), &s)
		delete(s, "$schema")
		oneOf = append(oneOf, s)
	}
	return map[string]any{"type": "object", "required": []string{"type"}, "oneOf": oneOf}
}

// scopes is oauth2's scopes: a list, or a space-separated string.
type scopes []string

// UnmarshalConfig reads a list of strings or a space-separated string.
func (s *scopes) UnmarshalConfig(raw json.RawMessage) error {
	var list []string
	var one string
	switch {
	case json.Unmarshal(raw, &list) == nil && list != nil:
		*s = list
	case json.Unmarshal(raw, &one) == nil:
		*s = strings.Fields(one)
	default:
		return fmt.Errorf("must be a list of strings or a space-separated string, got %s", raw)
	}
	return nil
}

// ConfigSchema describes the scopes.
func (scopes) ConfigSchema() map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
}

// pageType is a pagination type, read from its name or an old alias.
type pageType string

// UnmarshalConfig reads the type.
func (p *pageType) UnmarshalConfig(raw json.RawMessage) error {
	var t string
	if json.Unmarshal(raw, &t) != nil {
		return fmt.Errorf("must be one of none, page, offset, cursor, next_url, link_header, got %s", raw)
	}
	switch t = strings.ToLower(strings.TrimSpace(t)); t {
	case pageNone, pagePage, pageOffset, pageCursor, pageNext, pageLink:
		*p = pageType(t)
	case "page_number", "page_increment":
		*p = pagePage
	case "offset_limit", "offset_increment":
		*p = pageOffset
	case "next", "next_link", "url":
		*p = pageNext
	case "link":
		*p = pageLink
	default:
		return fmt.Errorf("must be one of none, page, offset, cursor, next_url, link_header, got %q", t)
	}
	return nil
}

// ConfigSchema describes the type.
func (pageType) ConfigSchema() map[string]any {
	return map[string]any{"type": "string", "enum": []string{pageNone, pagePage, pageOffset, pageCursor, pageNext, pageLink}}
}

// dotPath is a dot path key such as data.items.
type dotPath path_

// UnmarshalConfig reads a dot path; "" and "$" are the body itself.
func (d *dotPath) UnmarshalConfig(raw json.RawMessage) error {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return fmt.Errorf("must be a dot path string such as \"data.items\", got %s", raw)
	}
	p, ok := parsePath(s)
	if !ok {
		return fmt.Errorf("must be a dot path such as \"data.items\" or \"results.0.rows\" (no empty segments), got %q", s)
	}
	*d = dotPath(p)
	return nil
}

// ConfigSchema describes a dot path.
func (dotPath) ConfigSchema() map[string]any { return map[string]any{"type": "string"} }

// columns is the schema key: explicit column types.
type columns map[string]colType

// UnmarshalConfig reads the column types; see parseColumns.
func (c *columns) UnmarshalConfig(raw json.RawMessage) error {
	return sdkconfig.Parsed((*map[string]colType)(c), raw, parseColumns)
}

// ConfigSchema describes the column types.
func (columns) ConfigSchema() map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}, map[string]any{"type": "array"}}}
}

// apply sets cfg's pagination from the block; it returns the problems
// that span its keys.
func (k *paginationKeys) apply(cfg *config) []sdk.FieldError {
	var errs []sdk.FieldError
	p := pagination{Type: string(k.Type), PageParam: k.PageParam, StartPage: k.StartPage, PageSize: k.PageSize, OffsetParam: k.OffsetParam,
		StartOffset: k.StartOffset, TokenParam: k.TokenParam, MaxPages: k.MaxPages}
	if p.Type == "" {
		// The old connector's pagination block had no type: page numbers.
		p.Type = pagePage
	}
	for key, d := range map[string]*dotPath{"next_token_path": k.NextTokenPath, "next_url_path": k.NextURLPath, "total_path": k.TotalPath} {
		if d != nil && len(d.Parts) == 0 {
			errs = append(errs, sdk.FieldError{Field: "pagination." + key, Message: fmt.Sprintf("must be a non-empty dot path such as \"meta.next\", got %q", d.Text)})
		}
	}
	for dst, d := range map[*path_]*dotPath{&p.NextTokenPath: k.NextTokenPath, &p.NextURLPath: k.NextURLPath, &p.TotalPath: k.TotalPath} {
		if d != nil {
			*dst = path_(*d)
		}
	}
	switch {
	case k.SizeParam != nil:
		p.SizeParam = *k.SizeParam
	case k.LimitParam != nil:
		p.SizeParam = *k.LimitParam
	case p.Type == pagePage && p.PageSize > 0:
		p.SizeParam = "page_size"
	case p.Type == pageOffset:
		p.SizeParam = "limit"
	}
	if k.SizeParam != nil && p.PageSize == 0 && p.Type != pageOffset {
		errs = append(errs, sdk.FieldError{Field: "pagination.page_size", Message: fmt.Sprintf("is required when size_param is set (the value sent as %q)", p.SizeParam)})
	}
	switch p.Type {
	case pageCursor:
		if len(p.NextTokenPath.Parts) == 0 {
			errs = append(errs, sdk.FieldError{Field: "pagination.next_token_path", Message: "is required for pagination type cursor: the dot path of the next-page token in the response body, e.g. \"meta.next_cursor\""})
		}
	case pageNext:
		if len(p.NextURLPath.Parts) == 0 {
			p.NextURLPath, _ = parsePath("next")
		}
	}
	if k.CursorParam != nil {
		cfg.CursorParam = *k.CursorParam
	}
	cfg.Pagination = p
	return errs
}

// parseColumns reads explicit column types: a map name → type or a list of
// {name, type}.
func parseColumns(v json.RawMessage) (map[string]colType, string) {
	out := map[string]colType{}
	var asMap map[string]string
	if strict(v, &asMap) {
		for _, n := range sortedKeys(asMap) {
			t, ok := parseTypeName(asMap[n])
			if !ok {
				return nil, fmt.Sprintf("column %q: unknown type %q; allowed: %s", n, asMap[n], typeNames)
			}
			out[n] = t
		}
		return out, ""
	}
	var asList []map[string]string
	if !strict(v, &asList) {
		return nil, "must be a map of column name to type, or a list of {name, type}"
	}
	for i, e := range asList {
		for _, k := range sortedKeys(e) {
			if k != "name" && k != "type" {
				return nil, fmt.Sprintf("entry %d: %s", i, configkey.Unknown(k, []string{"name", "type"}))
			}
		}
		n, tn := e["name"], e["type"]
		if n == "" || len(e) != 2 {
			return nil, fmt.Sprintf("entry %d: must be {\"name\": ..., \"type\": ...}", i)
		}
		t, ok := parseTypeName(tn)
		if !ok {
			return nil, fmt.Sprintf("column %q: unknown type %q; allowed: %s", n, tn, typeNames)
		}
		out[n] = t
	}
	return out, ""
}

// strict unmarshals v into dst, refusing a JSON null.
func strict(v json.RawMessage, dst any) bool {
	return !bytes.Equal(bytes.TrimSpace(v), []byte("null")) && json.Unmarshal(v, dst) == nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scalarText renders a JSON scalar as a parameter or header value.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// secretLooking reports whether a header or parameter name usually holds a
// credential.
func secretLooking(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"authorization", "token", "secret", "password", "key", "cookie", "signature", "session"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// credentialOf is the credential part of an Authorization-style value
// ("Bearer abc" → "abc").
func credentialOf(s string) string {
	if _, after, ok := strings.Cut(s, " "); ok {
		return strings.TrimSpace(after)
	}
	return s
}
