package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
)

// gsheetsFixture is a fake Sheets API with a spreadsheet "1CLI" holding a
// sheet "Big" of n rows, shared with a service account whose key file it
// writes, and a pipeline reading the sheet into a csv file.
type gsheetsFixture struct {
	srv      *sheetstest.Server
	dir      string
	pipeline string
	email    string
}

func newGsheetsFixture(t *testing.T, n int, resilience string) *gsheetsFixture {
	t.Helper()
	havePlugin(t, "gsheets")
	f := &gsheetsFixture{srv: sheetstest.New(t), dir: t.TempDir(), email: "etl@sqlflow-cli.iam.gserviceaccount.com"}
	rows := [][]any{{"id", "name", "day"}}
	for i := 1; i <= n; i++ {
		rows = append(rows, []any{float64(i), fmt.Sprintf("row %d", i), 45292.0 + float64(i%365)})
	}
	f.srv.Add(&sheetstest.Spreadsheet{ID: "1CLI", Title: "CLI", Readers: []string{f.email},
		Sheets: []*sheetstest.Sheet{{Title: "Big", Rows: rows, RowCount: n + 1, Formats: map[int]string{2: "DATE"}}, {Title: "Other"}}})
	key := write(t, f.dir, "key.json", string(f.srv.ServiceAccountKey(t, f.email)))
	f.pipeline = write(t, f.dir, "p.yaml", `version: 1
sources:
  sheet:
    type: gsheets
    spreadsheet_id: 1CLI
    sheet_name: Big
    credentials_file: `+key+`
    endpoint: `+f.srv.URL+`
    page_size: 1000
    resilience: `+resilience+`
destinations:
  out: {type: csv, path: `+filepath.Join(f.dir, "out")+`}
flows:
  - {name: big, from: sheet, to: out, stream: Big, target: big}
`)
	return f
}

// csvRows counts the data lines of the flow's csv target.
func (f *gsheetsFixture) csvRows(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "out", "big.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n")) - 1
}

// apiRequests returns the server's API (not token) requests.
func (f *gsheetsFixture) apiRequests() []sheetstest.Request {
	var out []sheetstest.Request
	for _, r := range f.srv.Requests() {
		if r.Kind != "token" {
			out = append(out, r)
		}
	}
	return out
}

// TestGsheetsQuotaMidRead reads 25,000 rows in pages of 1,000 under a rate
// limit of 600 requests a minute while the API answers two 429
// RESOURCE_EXHAUSTED in the middle: the run waits as the plugin's
// backoff hints say, completes with every row, and never sends faster
// than the limit (checked on the server's own clock).
func TestGsheetsQuotaMidRead(t *testing.T) {
	const perMinute = 600
	f := newGsheetsFixture(t, 25_000, fmt.Sprintf("{rate_limit: %d}", perMinute))
	f.srv.Fail(func(n int, r sheetstest.Request) *sheetstest.Failure {
		if r.Kind == "values" && (n == 8 || n == 9) {
			return &sheetstest.Failure{Status: 429, Body: sheetstest.QuotaBody}
		}
		return nil
	})
	start := time.Now()
	r := cli(t, "run", f.pipeline)
	expect(t, r, 0, "big")
	if got := f.csvRows(t); got != 25_000 {
		t.Fatalf("%d rows in the target, want 25000\n%s", got, r)
	}
	reqs := f.apiRequests()
	if n := f.srv.Count("values", 429); n != 2 {
		t.Errorf("%d 429s answered, want 2", n)
	}
	if n := f.srv.Count("values", 200); n != 25 {
		t.Errorf("%d pages read, want 25", n)
	}
	// The run slowed down: after the first 429 the next request waited
	// for Google's first backoff step (1 s plus jitter), after the second
	// for the second (2 s plus jitter).
	for i, req := range reqs {
		if req.Status != 429 {
			continue
		}
		gap := reqs[i+1].Time.Sub(req.Time)
		if gap < 900*time.Millisecond {
			t.Errorf("request %d came %v after a 429", i+2, gap)
		}
	}
	// Within the limit: no window of the run holds more requests than the
	// limiter allows (rate × window, plus the one request of the burst,
	// plus one for Discover, whose two requests share one call). The
	// server's clock sees when requests arrive, not when the limiter let
	// them go: on a loaded machine (CI runs packages in parallel on two
	// cores) one request can be held up and arrive together with the
	// next, so windows get 250 ms of slack. A host that did not pace at
	// all would send the 25 pages within a second and fail by far.
	const jitter = 0.25
	rate := float64(perMinute) / 60
	maxSeen := 0.0
	for i := range reqs {
		for j := i + 1; j < len(reqs); j++ {
			window := reqs[j].Time.Sub(reqs[i].Time).Seconds()
			n := float64(j - i + 1)
			if allowed := 2 + rate*(window+jitter) + 0.5; n > allowed {
				t.Errorf("%v requests within %.2fs (requests %d to %d): over %d a minute", n, window, i+1, j+1, perMinute)
			}
			if window >= 1 {
				maxSeen = max(maxSeen, (n-1)/window*60)
			}
		}
	}
	t.Logf("%d API requests in %v; peak rate %.0f a minute (limit %d)", len(reqs), time.Since(start).Round(time.Millisecond), maxSeen, perMinute)
}

// TestGsheetsTokenExpiresMidRead: the server kills each access token
// after ten requests (the 22 requests of the run outlive two tokens); each
// time the plugin answers AUTH_EXPIRED, the host configures it again (its
// credential refresh), the plugin fetches a new token, and the run
// completes.
func TestGsheetsTokenExpiresMidRead(t *testing.T) {
	f := newGsheetsFixture(t, 20_000, "{rate_limit: 6000}")
	f.srv.ExpireTokensAfter(10)
	r := cli(t, "run", f.pipeline)
	expect(t, r, 0, "big")
	if got := f.csvRows(t); got != 20_000 {
		t.Fatalf("%d rows in the target, want 20000\n%s", got, r)
	}
	if n := f.srv.Count("values", 401); n != 2 {
		t.Errorf("%d requests refused with 401, want 2", n)
	}
	if n := f.srv.Count("token", 200); n != 3 {
		t.Errorf("%d tokens issued, want 3 (a new one after each of the host's refreshes)", n)
	}
	if !strings.Contains(r.stderr, "expired or revoked") {
		t.Logf("the host's log does not quote the AUTH_EXPIRED error:\n%s", r.stderr)
	}
}

func TestGsheetsMissingSheetAndNoPermission(t *testing.T) {
	f := newGsheetsFixture(t, 10, "{rate_limit: 6000}")
	p := strings.Replace(mustRead(t, f.pipeline), "sheet_name: Big", "sheet_name: big", 1)
	missing := write(t, f.dir, "missing.yaml", p)
	expect(t, cli(t, "check", missing, "sheet"), 1, `has no sheet "big"`, `"Big", "Other"`)

	f.srv.Add(&sheetstest.Spreadsheet{ID: "1CLI", Title: "CLI", Sheets: []*sheetstest.Sheet{{Title: "Big"}}})
	r := cli(t, "run", f.pipeline)
	expect(t, r, 1, "no permission to read spreadsheet 1CLI", "share the spreadsheet with the service account "+f.email)
	if strings.Contains(r.stderr, "Retrying operation") {
		t.Errorf("a PERMANENT error was retried:\n%s", r)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
