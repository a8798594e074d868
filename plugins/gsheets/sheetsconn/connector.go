// Package sheetsconn is the gsheets connector: a source reading the sheets
// of one Google spreadsheet through the Sheets API v4
// (google.golang.org/api/sheets/v4), one stream per sheet, one
// spreadsheets.values.get request per page.
//
// # Pages and checkpoints
//
// A page is a bounded row range in A1 notation ('Sheet1'!A1001:F2000),
// read with valueRenderOption UNFORMATTED_VALUE and dateTimeRenderOption
// SERIAL_NUMBER. The checkpoint is the next row to read plus the stream's
// layout (columns, types, last row, time zone), so a resumed read, also
// in a new process, asks for the same range again without any other
// request and never skips or repeats a row.
//
// # Errors and retries
//
// The connector never retries; the host does. Every failure is returned
// classified (package googleclass): 429 is RATE_LIMITED with a wait that
// follows Google's truncated exponential backoff, 5xx TRANSIENT, 401
// AUTH_EXPIRED (the host configures again, which drops the cached token),
// and 400/403/404 PERMANENT with a message that says what is missing and,
// for a service account, which email needs access. A failed request is
// never turned into an empty page. Keys, types and quotas are described
// in docs/connectors/gsheets.md.
package sheetsconn

import (
	"github.com/sqlflow/sqlflow-host/sdk/coltype"

	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/api/option"
	"google.golang.org/api/sheets/v4"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/httporigin"
)

// userAgent is sent with every request.
const userAgent = "sqlflow-gsheets/0.1"

// Connector is the gsheets source. Its methods may be called from several
// goroutines; a mutex guards its state.
type Connector struct {
	logger hclog.Logger

	mu         sync.Mutex
	cfg        config
	configured bool
	svc        *sheets.Service
	creds      *credentials
	// layouts caches the streams Discover worked out, by sheet title, so
	// that the first page of a read needs no request of its own. Configure
	// drops it.
	layouts map[string]*layout
	// quota counts the 429s answered in a row, for the backoff hint.
	quota *quotaBackoff
}

// New returns an unconfigured gsheets connector logging to logger.
func New(logger hclog.Logger) *Connector {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Connector{logger: logger, quota: newQuotaBackoff(nil)}
}

var _ sdk.Source = (*Connector)(nil)

// Spec describes the gsheets connector.
func (c *Connector) Spec() sdk.Spec {
	return sdk.Spec{
		Name:            "gsheets",
		Version:         "0.1.0",
		ConfigSchema:    configSchema,
		ResilienceClass: sdk.ResilienceNetwork,
		Incremental:     true,
		Discover:        true,
		LocationKeys:    []string{"endpoint", "spreadsheet_id", "sheet_name", "range"},
		// Google Sheets API v4 allows 60 read requests per minute per user
		// per project (300 per project); over quota it answers 429
		// RESOURCE_EXHAUSTED and asks for truncated exponential backoff
		// with random jitter capped near 32-64 s. So: 60 a minute with a
		// burst of 1 (a bucket of 10 would allow 70 in the first minute),
		// shared per host because connectors usually share one identity,
		// seven attempts and a 32 s cap: the waits (about 1+2+4+8+16+32 s)
		// outlast the one-minute quota window, so a 429 storm ends in a
		// retry that fits the next window. OAuth tokens expire: refresh
		// credentials.
		Resilience: map[string]any{
			"retry.max_attempts":       7,
			"retry.initial_delay":      1,
			"retry.max_delay":          32,
			"retry.backoff_multiplier": 2.0,
			"retry.jitter":             true,

			"circuit_breaker.enabled":           true,
			"circuit_breaker.failure_threshold": 5,
			"circuit_breaker.recovery_timeout":  60,
			"circuit_breaker.success_threshold": 2,
			"timeout":                           60,

			"rate_limit.enabled":                 true,
			"rate_limit.max_requests_per_minute": 60.0,
			"rate_limit.burst_size":              1,
			"rate_limit.per_host":                true,
			"rate_limit.backpressure_strategy":   "wait",
			// Shared across processes when the run shares limits
			// (run --shared-limits): the quota is the remote API's.
			"rate_limit.shared": true,

			"recovery.enable_connection_recovery": true,
			"recovery.enable_credential_refresh":  true,
			"recovery.recovery_check_interval":    30,
		},
		HostKeys: []string{"endpoint"},
		// Without an endpoint every instance reaches the one Sheets API
		// and shares its quota: one per-host limiter for all of them.
		DefaultHost: "sheets.googleapis.com",
		// The old tool's name for this connector type.
		Aliases: []string{"google_sheets"},
	}
}

// Configure validates and applies the configuration, reading
// credentials_file again. It reaches no server. Calling it again (the
// host does after AUTH_EXPIRED) replaces the configuration and drops the
// cached access token and stream layouts.
func (c *Connector) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	cfg, ferrs := parseConfig(raw)
	if len(ferrs) > 0 {
		return ferrs, nil
	}
	// One pooled transport per configuration; no client timeout: the
	// host's per-call deadline bounds every request.
	base := &http.Client{Transport: cleanhttp.DefaultPooledTransport()}
	creds, err := newCredentials(cfg, base)
	if err != nil {
		return nil, err
	}
	// The credentials go to the endpoint's origin only: the transport
	// authorizes no request elsewhere, and a redirect elsewhere loses
	// whatever it carried (https to http is refused).
	origin, err := httporigin.Parse(cfg.Endpoint)
	if err != nil {
		return nil, errclass.Permanentf("endpoint %q: %w", httpclass.RedactURL(cfg.Endpoint), err)
	}
	scope := httporigin.Scope{Origin: origin, Headers: []string{apiKeyHeader}}
	client := &http.Client{Transport: &transport{base: base.Transport, creds: creds, scope: scope}, CheckRedirect: scope.CheckRedirect}
	svc, err := sheets.NewService(ctx,
		option.WithHTTPClient(client),
		option.WithEndpoint(cfg.Endpoint),
		option.WithUserAgent(userAgent),
	)
	if err != nil {
		return nil, errclass.Permanentf("create the Sheets API client: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg, c.configured, c.svc, c.creds = cfg, true, svc, creds
	c.layouts = nil
	return nil, nil
}

// session is what one call needs, copied under the mutex.
type session struct {
	c     *Connector
	cfg   config
	svc   *sheets.Service
	creds *credentials
}

func (c *Connector) session() (session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.configured {
		return session{}, errclass.Permanentf("gsheets connector is not configured")
	}
	return session{c: c, cfg: c.cfg, svc: c.svc, creds: c.creds}, nil
}

// Check reads the spreadsheet's metadata (one request) and checks that
// sheet_name is one of its sheets.
func (c *Connector) Check(ctx context.Context) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	meta, err := s.metadata(ctx)
	if err != nil {
		return err
	}
	_, err = s.findSheet(meta, s.cfg.SheetName)
	return err
}

// Discover lists the spreadsheet's grid sheets, sheet_name first and the
// others in tab order, each with the schema inferred from its first
// sample_rows rows (two requests: the metadata, then one spreadsheets.get
// with grid data sampling every sheet at once). A missing sheet_name is a
// PERMANENT error listing the sheets there are.
func (c *Connector) Discover(ctx context.Context) ([]sdk.Stream, error) {
	s, err := c.session()
	if err != nil {
		return nil, err
	}
	meta, err := s.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.findSheet(meta, s.cfg.SheetName); err != nil {
		return nil, err
	}
	var grids []*sheets.Sheet
	for _, sh := range meta.Sheets {
		if sh.Properties != nil && sh.Properties.Title == s.cfg.SheetName {
			grids = append([]*sheets.Sheet{sh}, grids...)
		} else if isGrid(sh) {
			grids = append(grids, sh)
		}
	}
	layouts, err := s.layouts(ctx, meta, grids)
	if err != nil {
		return nil, err
	}
	streams := make([]sdk.Stream, 0, len(layouts))
	for _, l := range layouts {
		var cursors []string
		for i, t := range l.Types {
			if t != coltype.Bool {
				cursors = append(cursors, l.Names[i])
			}
		}
		streams = append(streams, sdk.Stream{Name: l.Sheet, Schema: l.schema(), CursorFields: cursors,
			// A flow without stream: reads the sheet sheet_name names, as
			// configurations of the old tool expect.
			Default: l.Sheet == s.cfg.SheetName})
	}
	c.mu.Lock()
	if c.cfg.SpreadsheetID == s.cfg.SpreadsheetID && c.creds == s.creds {
		c.layouts = map[string]*layout{}
		for _, l := range layouts {
			c.layouts[l.Sheet] = l
		}
	}
	c.mu.Unlock()
	return streams, nil
}

// cachedLayout returns the layout Discover found for sheet, or nil.
func (c *Connector) cachedLayout(s session, sheet string) *layout {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds != s.creds {
		return nil
	}
	return c.layouts[sheet]
}

// checkpoint is the position of a read: the next row and the stream's
// layout. It is JSON, so it survives restarts and reads plainly in the
// state file.
type checkpoint struct {
	V int `json:"v"`
	// Row is the next row to read (1-based, as in A1 notation).
	Row    int64   `json:"row"`
	Layout *layout `json:"layout"`
	// Max is the greatest cursor value read so far (incremental reads).
	Max json.RawMessage `json:"max,omitempty"`
}

const checkpointVersion = 1

// ReadPage reads the rows of req.Checkpoint's range with one
// spreadsheets.values.get request: up to page_size rows (or req.MaxRows,
// when smaller) from the checkpoint's row, cut short when the page
// reaches req.MaxBytes. The first page of a read (an empty checkpoint)
// also fetches the stream's layout unless Discover has already (two more
// requests). Empty rows are skipped. A failure is returned classified; it
// never ends the stream early.
func (c *Connector) ReadPage(ctx context.Context, req sdk.ReadRequest) (sdk.Page, error) {
	s, err := c.session()
	if err != nil {
		return sdk.Page{}, err
	}
	var cp checkpoint
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil || cp.V != checkpointVersion || cp.Layout == nil || cp.Row < 1 {
			return sdk.Page{}, errclass.Permanentf("stream %q: checkpoint %.200q is not one of this gsheets connector's (version %d)", req.Stream, req.Checkpoint, checkpointVersion)
		}
		if cp.Layout.Sheet != req.Stream {
			return sdk.Page{}, errclass.Permanentf("stream %q: the checkpoint belongs to stream %q", req.Stream, cp.Layout.Sheet)
		}
		if err := cp.Layout.check(); err != nil {
			return sdk.Page{}, errclass.Permanentf("stream %q: checkpoint: %v", req.Stream, err)
		}
	} else {
		l := c.cachedLayout(s, req.Stream)
		if l == nil {
			if l, err = s.layout(ctx, req.Stream); err != nil {
				return sdk.Page{}, err
			}
		}
		cp = checkpoint{V: checkpointVersion, Row: l.FirstRow, Layout: l}
	}
	return s.readPage(ctx, req, cp)
}

// layout fetches the layout of one sheet: the metadata, then a sample.
func (s session) layout(ctx context.Context, sheet string) (*layout, error) {
	meta, err := s.metadata(ctx)
	if err != nil {
		return nil, err
	}
	sh, err := s.findSheet(meta, sheet)
	if err != nil {
		return nil, err
	}
	ls, err := s.layouts(ctx, meta, []*sheets.Sheet{sh})
	if err != nil {
		return nil, err
	}
	return ls[0], nil
}

// metadataFields are the fields Check, Discover and a first page need.
const metadataFields = "spreadsheetId,properties(title,timeZone),sheets(properties(sheetId,title,index,sheetType,gridProperties(rowCount,columnCount)))"

// metadata reads the spreadsheet's title, time zone and sheets.
func (s session) metadata(ctx context.Context) (*sheets.Spreadsheet, error) {
	meta, err := s.svc.Spreadsheets.Get(s.cfg.SpreadsheetID).Fields(metadataFields).Context(ctx).Do()
	if err != nil {
		return nil, s.apiError(ctx, err, call{op: "read the metadata of spreadsheet " + s.cfg.SpreadsheetID})
	}
	s.c.quota.success()
	return meta, nil
}

// findSheet returns the sheet titled name, or a PERMANENT error listing
// the sheets there are.
func (s session) findSheet(meta *sheets.Spreadsheet, name string) (*sheets.Sheet, error) {
	var titles []string
	for _, sh := range meta.Sheets {
		if sh.Properties == nil {
			continue
		}
		if sh.Properties.Title == name {
			if !isGrid(sh) {
				return nil, errclass.Permanentf("sheet %q of spreadsheet %s is a %s sheet, not a grid of cells: it has no rows to read",
					name, s.cfg.SpreadsheetID, strings.ToLower(sh.Properties.SheetType))
			}
			return sh, nil
		}
		titles = append(titles, fmt.Sprintf("%q", sh.Properties.Title))
	}
	title := ""
	if meta.Properties != nil && meta.Properties.Title != "" {
		title = fmt.Sprintf(" (%q)", meta.Properties.Title)
	}
	return nil, errclass.Permanentf("spreadsheet %s%s has no sheet %q; its sheets are %s (names are case-sensitive)",
		s.cfg.SpreadsheetID, title, name, strings.Join(titles, ", "))
}

func isGrid(sh *sheets.Sheet) bool {
	return sh.Properties != nil && (sh.Properties.SheetType == "" || sh.Properties.SheetType == "GRID")
}

// timeZone loads the spreadsheet's time zone; UTC when it has none or
// the name is unknown here.
func timeZone(meta *sheets.Spreadsheet) string {
	if meta.Properties == nil || meta.Properties.TimeZone == "" {
		return "UTC"
	}
	if _, err := time.LoadLocation(meta.Properties.TimeZone); err != nil {
		return "UTC"
	}
	return meta.Properties.TimeZone
}

// sortedNames lists m's keys in order.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
