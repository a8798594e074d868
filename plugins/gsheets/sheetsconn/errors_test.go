package sheetsconn_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetsconn"
	"github.com/sqlflow/sqlflow-host/plugins/gsheets/sheetstest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// wantErr checks an error's class and that its message holds every part.
func wantErr(t *testing.T, err error, class errclass.Class, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", class)
	}
	if got := errclass.Of(err); got != class {
		t.Fatalf("class %v, want %v: %v", got, class, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("message lacks %q:\n%v", p, err)
		}
	}
}

func TestMissingSheetAndSpreadsheet(t *testing.T) {
	f := newFixture(t, orders(), &sheetstest.Sheet{Title: "Archive"})
	c := configure(t, f.config("orders", nil))
	err := c.Check(ctx(t))
	wantErr(t, err, errclass.Permanent, `has no sheet "orders"`, `"Orders", "Archive"`, "case-sensitive", `"Orders 2024"`)
	_, err = c.Discover(ctx(t))
	wantErr(t, err, errclass.Permanent, `has no sheet "orders"`)
	_, err = c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "orders"})
	wantErr(t, err, errclass.Permanent, `has no sheet "orders"`)

	// A sheet deleted after the read began.
	c = configure(t, f.config("Orders", nil))
	p, err := readPage(t, c, sdk.ReadRequest{Stream: "Orders", MaxRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.ss.Sheets = f.ss.Sheets[1:]
	_, err = c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "Orders", MaxRows: 1, Checkpoint: p.checkpoint})
	wantErr(t, err, errclass.Permanent, `sheet "Orders" was not found`, "renamed or deleted")

	c = configure(t, f.config("Orders", map[string]any{"spreadsheet_id": "1NoSuchSpreadsheet"}))
	err = c.Check(ctx(t))
	wantErr(t, err, errclass.Permanent, "spreadsheet 1NoSuchSpreadsheet was not found", "check spreadsheet_id", reader, "HTTP 404 NOT_FOUND")
}

func TestNoPermissionNamesTheServiceAccount(t *testing.T) {
	f := newFixture(t, orders())
	f.ss.Readers = nil
	c := configure(t, f.config("Orders", nil))
	_, err := c.Discover(ctx(t))
	wantErr(t, err, errclass.Permanent, "no permission to read spreadsheet "+sheetID, "share the spreadsheet with the service account "+reader, "PERMISSION_DENIED")
}

func TestAPIKey(t *testing.T) {
	f := newFixture(t, orders())
	f.srv.AddAPIKey("AIzaSyFakeKey1234")
	cfg := f.config("Orders", map[string]any{"credentials_file": nil, "api_key": "AIzaSyFakeKey1234"})

	// Not shared publicly: the message says how to share it.
	c := configure(t, cfg)
	err := c.Check(ctx(t))
	wantErr(t, err, errclass.Permanent, "Anyone with the link")

	f.ss.Public = true
	rows, _ := readAll(t, c, sdk.ReadRequest{Stream: "Orders"})
	if len(rows) != 4 {
		t.Errorf("%d rows", len(rows))
	}
	for _, r := range f.srv.Requests() {
		if r.Kind == "token" {
			t.Error("an API key read fetched a token")
		}
	}

	cfg["api_key"] = "AIzaSyWrongKey5678"
	c = configure(t, cfg)
	err = c.Check(ctx(t))
	wantErr(t, err, errclass.Permanent, "api_key is not a valid API key")
	if strings.Contains(err.Error(), "AIzaSyWrongKey5678") {
		t.Errorf("the key is in the message: %v", err)
	}
}

func TestQuotaIsRateLimitedWithGoogleBackoff(t *testing.T) {
	f := newFixture(t, bigSheet("Big", 30))
	c := configure(t, f.config("Big", map[string]any{"page_size": 10}))
	p, err := readPage(t, c, sdk.ReadRequest{Stream: "Big"})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Fail(func(n int, r sheetstest.Request) *sheetstest.Failure {
		return &sheetstest.Failure{Status: 429, Body: sheetstest.QuotaBody}
	})
	// The n-th 429 in a row asks for 2^(n-1) s plus up to a second.
	for n, lo := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, 64 * time.Second, 64 * time.Second} {
		_, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "Big", Checkpoint: p.checkpoint})
		wantErr(t, err, errclass.RateLimited, "HTTP 429 RESOURCE_EXHAUSTED", "Read requests per minute per user", "truncated exponential backoff")
		ra := errclass.RetryAfter(err)
		hi := lo + time.Second
		if lo == 64*time.Second {
			hi = lo
		}
		if ra < lo || ra > hi {
			t.Errorf("429 number %d: retry after %v, want %v to %v", n+1, ra, lo, hi)
		}
	}
	// A success resets the count; a server's Retry-After wins.
	f.srv.Fail(nil)
	if _, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "Big", Checkpoint: p.checkpoint}); err != nil {
		t.Fatal(err)
	}
	f.srv.Fail(func(n int, r sheetstest.Request) *sheetstest.Failure {
		return &sheetstest.Failure{Status: 429, Body: sheetstest.QuotaBody, Header: http.Header{"Retry-After": {"5"}}}
	})
	_, err = c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "Big", Checkpoint: p.checkpoint})
	if ra := errclass.RetryAfter(err); ra != 5*time.Second {
		t.Errorf("retry after %v, want the server's 5s", ra)
	}
}

func TestServerErrorsAreTransientAndNeverEmptyPages(t *testing.T) {
	f := newFixture(t, bigSheet("Big", 30))
	c := configure(t, f.config("Big", map[string]any{"page_size": 10}))
	p, err := readPage(t, c, sdk.ReadRequest{Stream: "Big"})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{500, 502, 503, 504} {
		f.srv.Fail(func(n int, r sheetstest.Request) *sheetstest.Failure { return &sheetstest.Failure{Status: status} })
		got, err := c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "Big", Checkpoint: p.checkpoint})
		wantErr(t, err, errclass.Transient)
		if got.Records != nil || got.Done {
			t.Errorf("%d: a failed read returned a page", status)
		}
	}
	f.srv.Fail(nil)
	rows, _ := readAll(t, c, sdk.ReadRequest{Stream: "Big", Checkpoint: p.checkpoint})
	if len(rows) != 20 || rows[0][0] != "11" {
		t.Errorf("after the failures: %d rows from id %s", len(rows), rows[0][0])
	}
}

func TestTokenExpiredMidReadThenReconfigured(t *testing.T) {
	f := newFixture(t, bigSheet("Big", 50))
	cfg := f.config("Big", map[string]any{"page_size": 10})
	c := configure(t, cfg)
	f.srv.ExpireTokensAfter(3) // metadata, sample, page 1
	p, err := readPage(t, c, sdk.ReadRequest{Stream: "Big"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadPage(ctx(t), sdk.ReadRequest{Stream: "Big", Checkpoint: p.checkpoint})
	wantErr(t, err, errclass.AuthExpired, "access token of "+reader, "expired or revoked")

	// The host's credential refresh: Configure again, then the same page.
	raw, _ := json.Marshal(cfg)
	if fe, err := c.Configure(ctx(t), raw); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	p2, err := readPage(t, c, sdk.ReadRequest{Stream: "Big", Checkpoint: p.checkpoint})
	if err != nil || p2.rows[0][0] != "11" {
		t.Fatalf("after reconfiguring: %v %v", err, p2.rows)
	}
	if n := f.srv.Count("token", 200); n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
}

func TestRevokedKeyIsAuthExpired(t *testing.T) {
	f := newFixture(t, orders())
	f.srv.Revoke(reader)
	c := configure(t, f.config("Orders", nil))
	err := c.Check(ctx(t))
	wantErr(t, err, errclass.AuthExpired, "service account "+reader, "invalid_grant", "create a new key")
}

func TestTokenEndpointDown(t *testing.T) {
	f := newFixture(t, orders())
	c := configure(t, f.config("Orders", nil))
	// A key whose token_uri points at a closed port.
	var key map[string]any
	json.Unmarshal(f.srv.ServiceAccountKey(t, reader), &key)
	key["token_uri"] = "http://127.0.0.1:1/token"
	data, _ := json.Marshal(key)
	c = configure(t, f.config("Orders", map[string]any{"credentials_file": nil, "credentials_json": string(data)}))
	err := c.Check(ctx(t))
	wantErr(t, err, errclass.Transient, "fetch an access token for "+reader)
}

func TestNotConfigured(t *testing.T) {
	c := sheetsconn.New(nil)
	wantErr(t, c.Check(ctx(t)), errclass.Permanent, "not configured")
}
