package sheetsconn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk/classify/googleclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// call describes a failed request for its message.
type call struct {
	op    string // "read 'Sheet1'!A1:F1000 of spreadsheet 1AbC"
	sheet string // the sheet read, if one
	rng   string // the A1 range asked for, if one
}

// apiError classifies a failed request and, for the failures a user must
// fix, says what to do: which spreadsheet or sheet is missing, which
// account needs access, which API to enable.
func (s session) apiError(ctx context.Context, err error, c call) error {
	// A classified error from the transport (a token fetch) reaches here
	// wrapped in *url.Error; report it without the URL.
	var ce *errclass.Error
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %w", c.op, ce)
	}
	static := s.cfg.Auth == authAPIKey
	cerr := googleclass.Classify(ctx, err, googleclass.Options{Request: c.op, Secrets: []string{s.cfg.APIKey}, StaticCredentials: static})
	d, ok := googleclass.Details(err)
	if !ok {
		return cerr
	}
	switch errclass.Of(cerr) {
	case errclass.RateLimited:
		wait, n := s.c.quota.failure(errclass.RetryAfter(cerr))
		return &errclass.Error{Class: errclass.RateLimited, RetryAfter: wait,
			Err: fmt.Errorf("%w (over quota %d time(s) in a row; retry_after %s, per Google's truncated exponential backoff)", cerr, n, wait.Round(100*time.Millisecond))}
	case errclass.AuthExpired:
		who := "the access token"
		if email := s.creds.account(); email != "" {
			who = "the access token of " + email
		}
		return fmt.Errorf("%s was refused (expired or revoked): %w", who, cerr)
	case errclass.Permanent:
	default:
		return cerr
	}
	id := s.cfg.SpreadsheetID
	switch {
	case d.Reason == "SERVICE_DISABLED" || d.Reason == "accessNotConfigured":
		return errclass.Permanentf("the Google Sheets API is not enabled for the Google Cloud project of these credentials: enable it at https://console.cloud.google.com/apis/library/sheets.googleapis.com (%v)", cerr)
	case d.Reason == "API_KEY_INVALID" || (static && d.Code == http.StatusBadRequest && strings.Contains(d.Message, "API key")):
		return errclass.Permanentf("api_key is not a valid API key (%v)", cerr)
	case d.Code == http.StatusNotFound:
		return errclass.Permanentf("spreadsheet %s was not found: check spreadsheet_id (the part of the sheet's URL after /d/); %s (%v)", id, s.accessHint(), cerr)
	case d.Code == http.StatusForbidden:
		return errclass.Permanentf("no permission to read spreadsheet %s: %s (%v)", id, s.accessHint(), cerr)
	case d.Code == http.StatusBadRequest && c.sheet != "" && strings.Contains(d.Message, "Unable to parse range"):
		return errclass.Permanentf("sheet %q was not found in spreadsheet %s (it may have been renamed or deleted during the read) (%v)", c.sheet, id, cerr)
	case d.Code == http.StatusBadRequest && strings.Contains(d.Message, "exceeds grid limits"):
		return errclass.Permanentf("sheet %q of spreadsheet %s shrank during the read (rows or columns were deleted); run again to read it from the start (%v)", c.sheet, id, cerr)
	}
	return cerr
}

// accessHint says who needs access to the spreadsheet.
func (s session) accessHint() string {
	switch s.cfg.Auth {
	case authAPIKey:
		return "an API key reads only spreadsheets shared with \"Anyone with the link\" (Share > General access); share it so, or use a service account"
	}
	if email := s.creds.account(); email != "" {
		return fmt.Sprintf("share the spreadsheet with the service account %s (Share > add the email as Viewer)", email)
	}
	return "share the spreadsheet with the account of the credentials (Viewer is enough)"
}

// maxQuotaWait caps the wait a 429 asks for: Google's guidance caps
// truncated exponential backoff at 32 to 64 seconds, and the per-minute
// quota is refilled within a minute.
const maxQuotaWait = 64 * time.Second

// quotaBackoff computes the wait reported with a RATE_LIMITED error, as
// Google's truncated exponential backoff asks: after the n-th 429 in a
// row, min(2^(n-1) s + a random fraction of a second, 64 s), unless the
// server said how long to wait. The host does the waiting (capped by its
// retry.max_delay) and pauses its rate limiter for as long; the plugin
// only counts. A successful request resets the count.
type quotaBackoff struct {
	mu   sync.Mutex
	n    int
	rand func() float64
}

func newQuotaBackoff(r func() float64) *quotaBackoff {
	if r == nil {
		r = rand.Float64
	}
	return &quotaBackoff{rand: r}
}

// failure records a 429 and returns the wait to report and the count.
func (q *quotaBackoff) failure(server time.Duration) (time.Duration, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n++
	if server > 0 {
		return min(server, maxQuotaWait), q.n
	}
	exp := time.Duration(1) << min(q.n-1, 6) * time.Second
	return min(exp+time.Duration(q.rand()*float64(time.Second)), maxQuotaWait), q.n
}

// success resets the count.
func (q *quotaBackoff) success() {
	q.mu.Lock()
	q.n = 0
	q.mu.Unlock()
}
