package restconn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestRedirectFromHTTPSToHTTPRefused: the API (https) redirects to a plain
// http server; the redirect is refused PERMANENT, naming both origins,
// and the http server sees nothing. Internal, to make the client trust
// the test server's certificate.
func TestRedirectFromHTTPSToHTTPRefused(t *testing.T) {
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		w.Write([]byte(`[{"id": 1}]`))
	}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-downgrade-1" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, plain.URL+"/v1/items?"+r.URL.RawQuery, http.StatusFound)
	}))
	defer secure.Close()

	c := New(nil)
	raw, _ := json.Marshal(map[string]any{"url": secure.URL + "/v1/items", "auth": map[string]any{"type": "bearer", "token": "tok-downgrade-1"}})
	if ferrs, err := c.Configure(context.Background(), raw); err != nil || len(ferrs) > 0 {
		t.Fatal(ferrs, err)
	}
	c.client.HTTPClient.Transport = secure.Client().Transport // trust the test certificate
	_, err := c.ReadPage(context.Background(), sdk.ReadRequest{Stream: "items"})
	if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "leaves https for plain http") ||
		!strings.Contains(err.Error(), "https://127.0.0.1:") || !strings.Contains(err.Error(), "http://127.0.0.1:") || strings.Contains(err.Error(), "tok-downgrade-1") {
		t.Fatalf("err = %v (%v)", err, errclass.Of(err))
	}
	if n := plainHits.Load(); n != 0 {
		t.Fatalf("the http server saw %d requests", n)
	}
}
