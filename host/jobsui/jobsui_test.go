package jobsui_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/sqlflow/sqlflow-host/host/jobsui"
	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// uiTestArgs is the job the test inserts; its kind is what the page must
// show.
type uiTestArgs struct {
	Flow string `json:"flow"`
}

func (uiTestArgs) Kind() string { return "sqlflow_jobsui_test_flow" }

// chromium finds Debian's chromium: it skips t with one line when it is
// missing, and fails t under CI=true (make services installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testenv.InCI() {
		t.Fatal("chromium is not installed (apt-get install -y chromium; make services does it); under CI=true this fails instead of skipping")
	}
	t.Skip("chromium is not installed: apt-get install -y chromium to run this test")
	return ""
}

// TestUIShowsJob inserts a job with a River client on a schema of its own,
// serves the UI on loopback and loads it in headless chromium: the jobs
// page shows the job's kind.
func TestUIShowsJob(t *testing.T) {
	browser := chromium(t)
	dsn := testenv.Require(t, "SQLFLOW_TEST_POSTGRES", "a PostgreSQL DSN")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	schema := fmt.Sprintf("jobsui_test_%d", time.Now().UnixNano())
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	driver := riverpgxv5.New(pool)
	mig, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	client, err := river.NewClient(driver, &river.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Insert(ctx, uiTestArgs{Flow: "orders"}, nil); err != nil {
		t.Fatal(err)
	}

	h, err := jobsui.New(ctx, client, jobsui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- jobsui.Serve(sctx, ln, h) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // root in containers
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	url := "http://" + ln.Addr().String() + "/jobs?state=available"
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("chromium could not load %s: %v", url, err)
	}
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](
		`document.body && document.body.innerText.includes("sqlflow_jobsui_test_flow")`,
		chromedp.WithPollingTimeout(60*time.Second)))
	body, terr := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		t.Fatalf("the UI at %s did not show the job's kind: %v (%v)\npage text:\n%s", url, err, terr, body)
	}
	if i := strings.Index(body, "sqlflow_jobsui_test_flow"); i >= 0 {
		t.Logf("page shows: %q", body[max(0, i-80):min(len(body), i+80)])
	}
	if !strings.Contains(body, "sqlflow_jobsui_test_flow") {
		t.Fatalf("page text lacks the job's kind:\n%s", body)
	}
}
