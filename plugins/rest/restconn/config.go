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

var allowedKeys = []string{
	"url", "method", "headers", "params", "auth", "pagination", "data_path", "flatten_response", "infer_decimals",
	"stream_name", "schema", "cursor_param", "new_fields", "max_record_bytes", "allow_cross_origin_pagination", "timeout", "max_retries", "retry_delay",
}

var allowedAuthKeys = map[string][]string{
	authBasic:  {"type", "username", "password"},
	authDigest: {"type", "username", "password"},
	authBearer: {"type", "token"},
	authAPIKey: {"type", "key_name", "key_value", "in"},
	authOAuth2: {"type", "token_url", "client_id", "client_secret", "scopes", "endpoint_params", "auth_style"},
}

var allowedPaginationKeys = []string{
	"type", "page_param", "start_page", "size_param", "page_size", "offset_param", "limit_param", "start_offset",
	"token_param", "next_token_path", "next_url_path", "total_path", "max_pages", "cursor_param",
}

// parseConfig validates raw. Problems come back as field errors.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	cfg := config{Method: "GET", Flatten: true, InferDecimals: true, CursorParam: "since", Pagination: pagination{Type: pageNone}, MaxRecordBytes: recordsize.Default}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(nonEmpty(raw), &fields); err != nil || fields == nil {
		return cfg, []sdk.FieldError{{Message: "the rest configuration must be a JSON object with at least \"url\""}}
	}
	var errs []sdk.FieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: key, Message: fmt.Sprintf(format, args...)})
	}
	for _, k := range sortedKeys(fields) {
		v := fields[k]
		switch k {
		case "url":
			var s string
			if !decode(v, &s) || strings.TrimSpace(s) == "" {
				bad(k, "must be a non-empty string, the endpoint's absolute URL (http:// or https://)")
				break
			}
			u, err := url.Parse(strings.TrimSpace(s))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(k, "must be an absolute http:// or https:// URL, got %q", s)
				break
			}
			cfg.URL = u
		case "method":
			var s string
			if !decode(v, &s) {
				bad(k, "must be a string: GET or POST, got %s", v)
				break
			}
			switch m := strings.ToUpper(strings.TrimSpace(s)); m {
			case "GET", "POST":
				cfg.Method = m
			default:
				bad(k, "must be GET or POST, got %q", s)
			}
		case "headers":
			var m map[string]any
			if !decode(v, &m) {
				bad(k, "must be a map of header name to value, got %s", v)
				break
			}
			for _, name := range sortedKeys(m) {
				s, ok := scalarText(m[name])
				if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " :\r\n") || strings.ContainsAny(s, "\r\n") {
					bad(k+"."+name, "must be a header name mapped to a string, number or boolean on one line")
					continue
				}
				cfg.Headers = append(cfg.Headers, [2]string{name, s})
				if secretLooking(name) {
					cfg.Secrets = append(cfg.Secrets, s, credentialOf(s))
				}
			}
		case "params":
			var m map[string]any
			if !decode(v, &m) {
				bad(k, "must be a map of parameter name to value, got %s", v)
				break
			}
			cfg.Params = m
			for name, pv := range m {
				if secretLooking(name) {
					if s, ok := scalarText(pv); ok {
						cfg.Secrets = append(cfg.Secrets, s)
					}
				}
			}
		case "auth":
			parseAuth(v, &cfg, bad)
		case "pagination":
			parsePagination(v, &cfg, bad)
		case "data_path":
			var s string
			if !decode(v, &s) {
				bad(k, "must be a dot path string such as \"data.items\", got %s", v)
				break
			}
			p, ok := parsePath(s)
			if !ok {
				bad(k, "must be a dot path such as \"data.items\" or \"results.0.rows\" (no empty segments), got %q", s)
				break
			}
			cfg.DataPath = p
		case "flatten_response":
			if !decode(v, &cfg.Flatten) {
				bad(k, "must be a boolean (true or false), got %s", v)
			}
		case "infer_decimals":
			if !decode(v, &cfg.InferDecimals) {
				bad(k, "must be a boolean (true or false), got %s", v)
			}
		case "stream_name":
			if !decode(v, &cfg.StreamName) || strings.TrimSpace(cfg.StreamName) == "" {
				bad(k, "must be a non-empty string, got %s", v)
			}
		case "schema":
			pinned, msg := parseColumns(v)
			if msg != "" {
				bad(k, "%s", msg)
			}
			cfg.Pinned = pinned
		case "cursor_param":
			if !decode(v, &cfg.CursorParam) {
				bad(k, "must be a string (the query parameter carrying the stored cursor; \"\" sends none), got %s", v)
			}
		case "new_fields":
			var s string
			if !decode(v, &s) || (s != "fail" && s != "ignore") {
				bad(k, "must be \"fail\" or \"ignore\", got %s", v)
				break
			}
			cfg.IgnoreNewFields = s == "ignore"
		case recordsize.Key:
			n, msg := recordsize.Parse(v)
			if msg != "" {
				bad(k, "%s", msg)
			}
			cfg.MaxRecordBytes = n
		case "allow_cross_origin_pagination":
			if !decode(v, &cfg.AllowCrossOrigin) {
				bad(k, "must be a boolean (true or false), got %s", v)
			}
		case "timeout":
			secs, ok := decodeNumber(v)
			if !ok || secs <= 0 {
				bad(k, "must be a positive number of seconds, got %s", v)
				break
			}
			cfg.Timeout = time.Duration(secs * float64(time.Second))
		case "max_retries":
			// The old retry knobs: the host maps them onto the resilience
			// policy (with a deprecation warning). Accepted and otherwise
			// ignored here: this connector never retries on its own.
			n, ok := decodeNumber(v)
			if !ok || n < 0 || n != float64(int64(n)) {
				bad(k, "must be a non-negative integer, got %s", v)
			}
		case "retry_delay":
			secs, ok := decodeNumber(v)
			if !ok || secs < 0 {
				bad(k, "must be a non-negative number of seconds, got %s", v)
			}
		default:
			bad(k, "%s", configkey.Unknown(k, allowedKeys))
		}
	}
	if _, ok := fields["url"]; !ok {
		bad("url", "is required: the endpoint's absolute URL, e.g. https://api.example.com/v1/items")
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

func parseAuth(v json.RawMessage, cfg *config, bad func(key, format string, args ...any)) {
	var m map[string]json.RawMessage
	if !decode(v, &m) {
		bad("auth", "must be a map with a type: basic, digest, bearer, api_key or oauth2, got %s", v)
		return
	}
	a := authConfig{KeyName: "X-API-Key", AuthStyle: "auto"}
	var typ string
	if !decode(m["type"], &typ) {
		bad("auth.type", "is required: basic, digest, bearer, api_key or oauth2")
		return
	}
	switch t := strings.ToLower(strings.TrimSpace(typ)); t {
	case "oauth2", "oauth2_client_credentials", "client_credentials":
		a.Type = authOAuth2
	case authBasic, authDigest, authBearer, authAPIKey:
		a.Type = t
	case "apikey", "api-key":
		a.Type = authAPIKey
	default:
		bad("auth.type", "must be basic, digest, bearer, api_key or oauth2, got %q", typ)
		return
	}
	str := func(key string, dst *string, required bool) {
		raw, ok := m[key]
		if !ok {
			if required {
				bad("auth."+key, "is required for auth type %s", a.Type)
			}
			return
		}
		if !decode(raw, dst) || (required && *dst == "") {
			bad("auth."+key, "must be a non-empty string, got %s", raw)
		}
	}
	for _, k := range sortedKeys(m) {
		if !containsString(allowedAuthKeys[a.Type], k) {
			bad("auth."+k, "%s (auth type %s)", configkey.Unknown(k, allowedAuthKeys[a.Type]), a.Type)
		}
	}
	switch a.Type {
	case authBasic, authDigest:
		str("username", &a.Username, true)
		str("password", &a.Password, false)
		cfg.Secrets = append(cfg.Secrets, a.Password)
	case authBearer:
		str("token", &a.Token, true)
		cfg.Secrets = append(cfg.Secrets, a.Token)
	case authAPIKey:
		str("key_name", &a.KeyName, false)
		if a.KeyName == "" {
			bad("auth.key_name", "must not be empty (the header or query parameter name; default X-API-Key)")
		}
		str("key_value", &a.KeyValue, true)
		var in string
		str("in", &in, false)
		switch strings.ToLower(in) {
		case "", "header":
		case "query", "query_string", "querystring", "params":
			a.InQuery = true
		default:
			bad("auth.in", "must be header or query, got %q", in)
		}
		cfg.Secrets = append(cfg.Secrets, a.KeyValue)
	case authOAuth2:
		str("token_url", &a.TokenURL, true)
		if a.TokenURL != "" {
			if u, err := url.Parse(a.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("auth.token_url", "must be an absolute http:// or https:// URL, got %q", a.TokenURL)
			}
		}
		str("client_id", &a.ClientID, true)
		str("client_secret", &a.ClientSecret, true)
		cfg.Secrets = append(cfg.Secrets, a.ClientSecret)
		if raw, ok := m["scopes"]; ok {
			var list []string
			var one string
			switch {
			case decode(raw, &list):
				a.Scopes = list
			case decode(raw, &one):
				a.Scopes = strings.Fields(one)
			default:
				bad("auth.scopes", "must be a list of strings or a space-separated string, got %s", raw)
			}
		}
		if raw, ok := m["endpoint_params"]; ok {
			var p map[string]any
			if !decode(raw, &p) {
				bad("auth.endpoint_params", "must be a map of name to value (e.g. audience), got %s", raw)
			} else {
				a.EndpointParams = url.Values{}
				for _, k := range sortedKeys(p) {
					s, ok := scalarText(p[k])
					if !ok {
						bad("auth.endpoint_params."+k, "must be a string, number or boolean")
						continue
					}
					a.EndpointParams.Set(k, s)
				}
			}
		}
		str("auth_style", &a.AuthStyle, false)
		switch a.AuthStyle {
		case "auto", "header", "params":
		default:
			bad("auth.auth_style", "must be auto, header or params, got %q", a.AuthStyle)
		}
	}
	cfg.Auth = a
}

// parsePagination reads the pagination block.
func parsePagination(v json.RawMessage, cfg *config, bad func(key, format string, args ...any)) {
	var m map[string]json.RawMessage
	if !decode(v, &m) {
		bad("pagination", "must be a map (type: none, page, offset, cursor, next_url or link_header), got %s", v)
		return
	}
	p := pagination{PageParam: "page", StartPage: 1, OffsetParam: "offset", TokenParam: "cursor"}
	typeGiven := false
	if raw, ok := m["type"]; ok {
		var t string
		if !decode(raw, &t) {
			bad("pagination.type", "must be one of none, page, offset, cursor, next_url, link_header, got %s", raw)
		}
		switch t = strings.ToLower(strings.TrimSpace(t)); t {
		case pageNone, pagePage, pageOffset, pageCursor, pageNext, pageLink:
			p.Type = t
			typeGiven = true
		case "page_number", "page_increment":
			p.Type, typeGiven = pagePage, true
		case "offset_limit", "offset_increment":
			p.Type, typeGiven = pageOffset, true
		case "next", "next_link", "url":
			p.Type, typeGiven = pageNext, true
		case "link":
			p.Type, typeGiven = pageLink, true
		default:
			bad("pagination.type", "must be one of none, page, offset, cursor, next_url, link_header, got %q", t)
		}
	}
	if !typeGiven {
		// The old connector's pagination block had no type: page numbers.
		p.Type = pagePage
	}
	str := func(key string, dst *string) {
		if raw, ok := m[key]; ok && (!decode(raw, dst) || *dst == "") {
			bad("pagination."+key, "must be a non-empty string, got %s", raw)
		}
	}
	integer := func(key string, dst *int64, min int64) {
		raw, ok := m[key]
		if !ok {
			return
		}
		var f float64
		if !decode(raw, &f) || f != float64(int64(f)) || int64(f) < min {
			bad("pagination."+key, "must be an integer of at least %d, got %s", min, raw)
			return
		}
		*dst = int64(f)
	}
	pathKey := func(key string, dst *path_) {
		raw, ok := m[key]
		if !ok {
			return
		}
		var s string
		if !decode(raw, &s) {
			bad("pagination."+key, "must be a dot path string, got %s", raw)
			return
		}
		pp, ok := parsePath(s)
		if !ok || len(pp.Parts) == 0 {
			bad("pagination."+key, "must be a non-empty dot path such as \"meta.next\", got %q", s)
			return
		}
		*dst = pp
	}
	str("page_param", &p.PageParam)
	integer("start_page", &p.StartPage, 0)
	str("size_param", &p.SizeParam)
	integer("page_size", &p.PageSize, 1)
	str("offset_param", &p.OffsetParam)
	if _, ok := m["limit_param"]; ok {
		str("limit_param", &p.SizeParam)
	}
	integer("start_offset", &p.StartOffset, 0)
	str("token_param", &p.TokenParam)
	pathKey("next_token_path", &p.NextTokenPath)
	pathKey("next_url_path", &p.NextURLPath)
	pathKey("total_path", &p.TotalPath)
	integer("max_pages", &p.MaxPages, 1)
	if raw, ok := m["cursor_param"]; ok && !decode(raw, &cfg.CursorParam) {
		bad("pagination.cursor_param", "must be a string (the query parameter carrying the stored incremental cursor), got %s", raw)
	}
	for _, k := range sortedKeys(m) {
		if !containsString(allowedPaginationKeys, k) {
			bad("pagination."+k, "%s", configkey.Unknown(k, allowedPaginationKeys))
		}
	}
	if _, ok := m["size_param"]; !ok {
		if _, ok := m["limit_param"]; !ok {
			switch p.Type {
			case pagePage:
				if p.PageSize > 0 {
					p.SizeParam = "page_size"
				}
			case pageOffset:
				p.SizeParam = "limit"
			}
		}
	}
	if p.SizeParam != "" && p.PageSize == 0 && p.Type != pageOffset {
		if _, given := m["size_param"]; given {
			bad("pagination.page_size", "is required when size_param is set (the value sent as %q)", p.SizeParam)
		}
	}
	switch p.Type {
	case pageCursor:
		if len(p.NextTokenPath.Parts) == 0 {
			bad("pagination.next_token_path", "is required for pagination type cursor: the dot path of the next-page token in the response body, e.g. \"meta.next_cursor\"")
		}
	case pageNext:
		if len(p.NextURLPath.Parts) == 0 {
			p.NextURLPath, _ = parsePath("next")
		}
	}
	cfg.Pagination = p
}

// parseColumns reads explicit column types: a map name → type or a list of
// {name, type}.
func parseColumns(v json.RawMessage) (map[string]colType, string) {
	out := map[string]colType{}
	var asMap map[string]string
	if decode(v, &asMap) {
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
	if !decode(v, &asList) {
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

func nonEmpty(raw json.RawMessage) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("{}")
	}
	return raw
}

// decode unmarshals v into dst strictly (a JSON null or absent value is
// refused).
func decode(v json.RawMessage, dst any) bool {
	if len(v) == 0 || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return false
	}
	return json.Unmarshal(v, dst) == nil
}

// decodeNumber reads a number, or a number written as a string ("30"), as
// the old connector accepted for its retry keys.
func decodeNumber(v json.RawMessage) (float64, bool) {
	var f float64
	if decode(v, &f) {
		return f, true
	}
	var s string
	if !decode(v, &s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
