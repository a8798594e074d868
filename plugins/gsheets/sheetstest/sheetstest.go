// Package sheetstest is a fake Google Sheets API v4 server for tests. It
// speaks the JSON wire format of spreadsheets.get (metadata, and grid data
// for ranges) and spreadsheets.values.get, with Google's error bodies, and
// an OAuth2 token endpoint for the service account keys it makes (the JWT
// bearer flow golang.org/x/oauth2/google uses, signatures checked). It
// logs every request with its time, so tests can count them, and can
// inject failures (429 quota errors, 5xx) and expire tokens mid-read.
//
// Like the real API it refuses ranges beyond a sheet's grid ("exceeds
// grid limits"), answers 404 for an unknown spreadsheet, 400 "Unable to
// parse range" for an unknown sheet, 401 for a missing or expired token,
// and 403 PERMISSION_DENIED for a caller the spreadsheet is not shared
// with. values.get insists on valueRenderOption UNFORMATTED_VALUE and
// dateTimeRenderOption SERIAL_NUMBER, the options the connector must send.
package sheetstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scope is the OAuth2 scope the token endpoint requires: read-only.
const Scope = "https://www.googleapis.com/auth/spreadsheets.readonly"

// Spreadsheet is one spreadsheet the server holds.
type Spreadsheet struct {
	ID, Title string
	// TimeZone is the spreadsheet's IANA time zone; empty means UTC.
	TimeZone string
	Sheets   []*Sheet
	// Readers are the service account emails it is shared with.
	Readers []string
	// Public makes it readable with any valid API key ("Anyone with the
	// link").
	Public bool
}

// Sheet is one sheet (tab).
type Sheet struct {
	Title string
	// Rows are the cells as values.get sends them unformatted: float64
	// (numbers, dates as serial numbers), string, bool, or nil for an
	// empty cell. A formula error is its text ("#N/A").
	Rows [][]any
	// Formats gives a column's number format type (DATE, DATE_TIME, TIME,
	// NUMBER ...) for the cells of its rows after the first; by 0-based
	// column index.
	Formats map[int]string
	// RowCount and ColumnCount are the grid's size; zero means the larger
	// of the data's size and Google's default grid (1000 × 26).
	RowCount, ColumnCount int
	// Type is the sheet type; empty means GRID.
	Type string
}

func (sh *Sheet) rows() int {
	if sh.RowCount > 0 {
		return sh.RowCount
	}
	return max(len(sh.Rows), 1000)
}

func (sh *Sheet) cols() int {
	if sh.ColumnCount > 0 {
		return sh.ColumnCount
	}
	w := 26
	for _, r := range sh.Rows {
		w = max(w, len(r))
	}
	return w
}

// Request is one request the server answered.
type Request struct {
	Time time.Time
	// Kind is "token", "metadata", "sample" (spreadsheets.get with grid
	// data) or "values".
	Kind string
	// Spreadsheet and Range are what was asked for (Range for values and
	// sample requests).
	Spreadsheet, Range string
	// Caller is the service account's email, "apikey", or "".
	Caller string
	Status int
}

// Failure is a response a test injects instead of the real one.
type Failure struct {
	Status int
	// Body is the JSON body; empty means Google's body for the status.
	Body   string
	Header http.Header
}

// QuotaBody is the body of Google's 429 for the per-user read quota.
const QuotaBody = `{"error":{"code":429,"message":"Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:1'.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"googleapis.com","metadata":{"quota_limit":"ReadRequestsPerMinutePerUser","quota_limit_value":"60","service":"sheets.googleapis.com"}}]}}`

// Server is the fake API. Set its fields before the requests they affect;
// the methods are safe for concurrent use.
type Server struct {
	// URL is the base URL: the connector's endpoint key, and the token
	// endpoint is URL + "token".
	URL string

	srv *httptest.Server

	mu           sync.Mutex
	spreadsheets map[string]*Spreadsheet
	keys         map[string]*rsa.PublicKey
	revoked      map[string]bool
	apiKeys      map[string]bool
	tokens       map[string]*token
	log          []Request
	fail         func(n int, r Request) *Failure
	tokenTTL     time.Duration
	expireAfter  int
}

type token struct {
	email string
	uses  int
	dead  bool
}

// New starts a server on loopback, closed when tb's test ends.
func New(tb testing.TB) *Server {
	s := &Server{
		spreadsheets: map[string]*Spreadsheet{},
		keys:         map[string]*rsa.PublicKey{},
		revoked:      map[string]bool{},
		apiKeys:      map[string]bool{},
		tokens:       map[string]*token{},
		tokenTTL:     time.Hour,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/"
	tb.Cleanup(s.srv.Close)
	return s
}

// Add adds (or replaces) a spreadsheet.
func (s *Server) Add(ss *Spreadsheet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spreadsheets[ss.ID] = ss
}

// AddAPIKey makes key a valid API key.
func (s *Server) AddAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKeys[key] = true
}

// Revoke makes the token endpoint refuse email's key (invalid_grant), as
// Google does for a deleted key.
func (s *Server) Revoke(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[email] = true
}

// SetTokenTTL sets the expires_in of the tokens issued from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// ExpireTokensAfter makes every token die (401 UNAUTHENTICATED) once it
// has authorized n API requests, whatever its expires_in said, as a token
// revoked or expired early does; zero turns this off.
func (s *Server) ExpireTokensAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireAfter = n
}

// Fail sets a hook called before each API (not token) request is
// answered, with the request's 1-based number among API requests; a
// non-nil Failure is answered instead. nil removes the hook.
func (s *Server) Fail(f func(n int, r Request) *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// Requests returns the requests answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Count returns how many requests of kind were answered with status.
func (s *Server) Count(kind string, status int) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Kind == kind && r.Status == status {
			n++
		}
	}
	return n
}

// ServiceAccountKey makes a service account key for email (a fresh
// 2048-bit RSA key) whose token_uri is this server's token endpoint, and
// returns its JSON, as the Cloud console's "Create key" downloads it.
func (s *Server) ServiceAccountKey(tb testing.TB, email string) []byte {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.keys[email] = &key.PublicKey
	s.mu.Unlock()
	id := make([]byte, 20)
	rand.Read(id)
	data, err := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  "sqlflow-test",
		"private_key_id":              hex.EncodeToString(id),
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                email,
		"client_id":                   "1234567890",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   s.URL + "token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// googleError writes Google's JSON error body.
func googleError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.serveToken(w, r)
		return
	}
	req := Request{Time: time.Now()}
	status := s.serveAPI(w, r, &req)
	req.Status = status
	s.record(req)
}

// serveToken is the OAuth2 token endpoint of the JWT bearer flow.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	req := Request{Time: time.Now(), Kind: "token"}
	fail := func(status int, code, desc string) {
		req.Status = status
		s.record(req)
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		fail(400, "invalid_request", "POST a form")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail(400, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	claims, email, err := s.verifyJWT(r.PostForm.Get("assertion"))
	req.Caller = email
	if err != nil {
		fail(400, "invalid_grant", err.Error())
		return
	}
	if claims.Aud != s.URL+"token" {
		fail(400, "invalid_grant", "Invalid JWT: Failed audience check.")
		return
	}
	if claims.Scope != Scope {
		fail(400, "invalid_scope", "the fake requires exactly the read-only scope, got "+claims.Scope)
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := "ya29.fake-" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = &token{email: email}
	ttl := s.tokenTTL
	s.mu.Unlock()
	req.Status = 200
	s.record(req)
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds())})
}

type jwtClaims struct {
	Iss, Scope, Aud string
	Exp, Iat        int64
}

// verifyJWT checks an RS256 assertion signed by a key this server made.
func (s *Server) verifyJWT(assertion string) (jwtClaims, string, error) {
	var c jwtClaims
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return c, "", fmt.Errorf("Invalid JWT: not three parts")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, "", fmt.Errorf("Invalid JWT: bad payload")
	}
	s.mu.Lock()
	pub, revoked := s.keys[c.Iss], s.revoked[c.Iss]
	s.mu.Unlock()
	if pub == nil || revoked {
		return c, c.Iss, fmt.Errorf("Invalid JWT Signature.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, c.Iss, fmt.Errorf("Invalid JWT Signature.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return c, c.Iss, fmt.Errorf("Invalid JWT Signature.")
	}
	if now := time.Now().Unix(); c.Exp < now-60 || c.Iat > now+60 {
		return c, c.Iss, fmt.Errorf("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
	}
	return c, c.Iss, nil
}

// serveAPI answers spreadsheets.get and spreadsheets.values.get and
// returns the status it answered.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, req *Request) int {
	// /v4/spreadsheets/{id}[/values/{range}], escaped as the client sent it.
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(parts) < 3 || parts[0] != "v4" || parts[1] != "spreadsheets" || r.Method != http.MethodGet {
		googleError(w, 404, "NOT_FOUND", "no such method: "+r.Method+" "+r.URL.Path)
		return 404
	}
	id, _ := url.PathUnescape(parts[2])
	req.Spreadsheet = id
	q := r.URL.Query()
	switch {
	case len(parts) == 3 && q.Get("includeGridData") == "true":
		req.Kind = "sample"
		req.Range = strings.Join(q["ranges"], ", ")
	case len(parts) == 3:
		req.Kind = "metadata"
	case len(parts) == 5 && parts[3] == "values":
		req.Kind = "values"
		req.Range, _ = url.PathUnescape(parts[4])
	default:
		googleError(w, 404, "NOT_FOUND", "no such method: "+r.URL.Path)
		return 404
	}

	// Who is calling.
	s.mu.Lock()
	fail := s.fail
	n := 0
	for _, l := range s.log {
		if l.Kind != "token" {
			n++
		}
	}
	n++
	var caller string
	authStatus := 0
	key := r.Header.Get("X-Goog-Api-Key")
	if key == "" {
		key = q.Get("key")
	}
	switch auth := r.Header.Get("Authorization"); {
	case strings.HasPrefix(auth, "Bearer "):
		t := s.tokens[strings.TrimPrefix(auth, "Bearer ")]
		switch {
		case t == nil || t.dead:
			authStatus = 401
		case s.expireAfter > 0 && t.uses >= s.expireAfter:
			t.dead = true
			authStatus = 401
		default:
			t.uses++
			caller = t.email
		}
	case key != "":
		if !s.apiKeys[key] {
			authStatus = 400
		}
		caller = "apikey"
	default:
		authStatus = 403
	}
	ss := s.spreadsheets[id]
	s.mu.Unlock()
	req.Caller = caller

	if fail != nil {
		if f := fail(n, *req); f != nil {
			for k, v := range f.Header {
				w.Header()[k] = v
			}
			if f.Body == "" {
				googleError(w, f.Status, "", http.StatusText(f.Status))
			} else {
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				w.WriteHeader(f.Status)
				fmt.Fprint(w, f.Body)
			}
			return f.Status
		}
	}
	switch authStatus {
	case 401:
		googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return 401
	case 400:
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
			"details": []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}}}})
		return 400
	case 403:
		googleError(w, 403, "PERMISSION_DENIED", "The request is missing a valid API key.")
		return 403
	}
	if ss == nil {
		googleError(w, 404, "NOT_FOUND", "Requested entity was not found.")
		return 404
	}
	allowed := ss.Public && caller == "apikey"
	for _, e := range ss.Readers {
		allowed = allowed || e == caller
	}
	if !allowed {
		googleError(w, 403, "PERMISSION_DENIED", "The caller does not have permission")
		return 403
	}
	switch req.Kind {
	case "metadata":
		return s.serveMetadata(w, ss)
	case "sample":
		return s.serveSample(w, ss, q["ranges"])
	default:
		if q.Get("valueRenderOption") != "UNFORMATTED_VALUE" || q.Get("dateTimeRenderOption") != "SERIAL_NUMBER" {
			googleError(w, 400, "INVALID_ARGUMENT", "the fake expects valueRenderOption=UNFORMATTED_VALUE and dateTimeRenderOption=SERIAL_NUMBER")
			return 400
		}
		return s.serveValues(w, ss, req.Range)
	}
}

func (s *Server) serveMetadata(w http.ResponseWriter, ss *Spreadsheet) int {
	tz := ss.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	sheets := make([]any, len(ss.Sheets))
	for i, sh := range ss.Sheets {
		typ := sh.Type
		if typ == "" {
			typ = "GRID"
		}
		props := map[string]any{"sheetId": 1000 + i, "title": sh.Title, "index": i, "sheetType": typ}
		if typ == "GRID" {
			props["gridProperties"] = map[string]any{"rowCount": sh.rows(), "columnCount": sh.cols()}
		}
		sheets[i] = map[string]any{"properties": props}
	}
	writeJSON(w, 200, map[string]any{
		"spreadsheetId": ss.ID,
		"properties":    map[string]any{"title": ss.Title, "timeZone": tz},
		"sheets":        sheets,
	})
	return 200
}

// rect is a parsed A1 range: 0-based columns and 1-based rows, inclusive.
type rect struct {
	sheet          *Sheet
	c0, c1, r0, r1 int
}

// parseRange parses 'Sheet'!A1:B2 (the forms the connector sends) and
// checks it against the grid as Google does.
func parseRange(ss *Spreadsheet, a1 string) (rect, int, string, string) {
	i := strings.LastIndexByte(a1, '!')
	if i < 0 {
		return rect{}, 400, "INVALID_ARGUMENT", "Unable to parse range: " + a1
	}
	name, cells := a1[:i], a1[i+1:]
	if len(name) >= 2 && name[0] == '\'' && name[len(name)-1] == '\'' {
		name = strings.ReplaceAll(name[1:len(name)-1], "''", "'")
	}
	var sh *Sheet
	for _, x := range ss.Sheets {
		if x.Title == name {
			sh = x
		}
	}
	from, to, ok := strings.Cut(cells, ":")
	c0, r0, ok0 := cellRef(from)
	c1, r1, ok1 := cellRef(to)
	if sh == nil || !ok || !ok0 || !ok1 || c1 < c0 || r1 < r0 {
		return rect{}, 400, "INVALID_ARGUMENT", "Unable to parse range: " + a1
	}
	if r1 > sh.rows() || c1 >= sh.cols() {
		return rect{}, 400, "INVALID_ARGUMENT", fmt.Sprintf("Range (%s) exceeds grid limits. Max rows: %d, max columns: %d", a1, sh.rows(), sh.cols())
	}
	return rect{sh, c0, c1, r0, r1}, 200, "", ""
}

func cellRef(s string) (int, int, bool) {
	i := 0
	col := 0
	for i < len(s) && s[i] >= 'A' && s[i] <= 'Z' {
		col = col*26 + int(s[i]-'A'+1)
		i++
	}
	row, err := strconv.Atoi(s[i:])
	return col - 1, row, i > 0 && err == nil && row >= 1
}

// cells returns the cells of rows r0..r1 and columns c0..c1 as values.get
// does: trailing empty cells and trailing empty rows left out.
func (rc rect) cells() [][]any {
	out := [][]any{}
	for r := rc.r0; r <= rc.r1 && r <= len(rc.sheet.Rows); r++ {
		src := rc.sheet.Rows[r-1]
		row := []any{}
		for c := rc.c0; c <= rc.c1 && c < len(src); c++ {
			v := src[c]
			if v == nil {
				v = ""
			}
			row = append(row, v)
		}
		for len(row) > 0 && row[len(row)-1] == "" {
			row = row[:len(row)-1]
		}
		out = append(out, row)
	}
	for len(out) > 0 && len(out[len(out)-1]) == 0 {
		out = out[:len(out)-1]
	}
	return out
}

func (s *Server) serveValues(w http.ResponseWriter, ss *Spreadsheet, a1 string) int {
	rc, code, status, msg := parseRange(ss, a1)
	if code != 200 {
		googleError(w, code, status, msg)
		return code
	}
	resp := map[string]any{"range": a1, "majorDimension": "ROWS"}
	if v := rc.cells(); len(v) > 0 {
		resp["values"] = v
	}
	writeJSON(w, 200, resp)
	return 200
}

// errorTypes are the ErrorValue types of formula error texts.
var errorTypes = map[string]string{
	"#ERROR!": "ERROR", "#NULL!": "NULL_VALUE", "#DIV/0!": "DIVIDE_BY_ZERO", "#VALUE!": "VALUE",
	"#REF!": "REF", "#NAME?": "NAME", "#NUM!": "NUM", "#N/A": "N_A",
}

func (s *Server) serveSample(w http.ResponseWriter, ss *Spreadsheet, ranges []string) int {
	bySheet := map[*Sheet]any{}
	for _, a1 := range ranges {
		rc, code, status, msg := parseRange(ss, a1)
		if code != 200 {
			googleError(w, code, status, msg)
			return code
		}
		var rowData []any
		for i, row := range rc.cells() {
			vals := make([]any, len(row))
			for j, v := range row {
				cell := map[string]any{}
				switch x := v.(type) {
				case float64:
					cell["effectiveValue"] = map[string]any{"numberValue": x}
				case bool:
					cell["effectiveValue"] = map[string]any{"boolValue": x}
				case string:
					if t, ok := errorTypes[x]; ok {
						cell["effectiveValue"] = map[string]any{"errorValue": map[string]any{"type": t, "message": "formula error"}}
					} else if x != "" {
						cell["effectiveValue"] = map[string]any{"stringValue": x}
					}
				}
				if f, ok := rc.sheet.Formats[rc.c0+j]; ok && rc.r0+i > 1 {
					cell["effectiveFormat"] = map[string]any{"numberFormat": map[string]any{"type": f}}
				}
				vals[j] = cell
			}
			rowData = append(rowData, map[string]any{"values": vals})
		}
		bySheet[rc.sheet] = map[string]any{"startRow": rc.r0 - 1, "startColumn": rc.c0, "rowData": rowData}
	}
	var sheets []any
	for _, sh := range ss.Sheets {
		if d, ok := bySheet[sh]; ok {
			sheets = append(sheets, map[string]any{"properties": map[string]any{"title": sh.Title}, "data": []any{d}})
		}
	}
	writeJSON(w, 200, map[string]any{"sheets": sheets})
	return 200
}
