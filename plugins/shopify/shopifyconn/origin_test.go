package shopifyconn_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/httporigin"
)

// front is a server in front of a fake shop (another origin than the
// shop's server): it records what it received, and passes requests on to
// the shop unless handle answers them (returns true). rewrite, when set,
// changes the shop's answers.
type front struct {
	srv     *httptest.Server
	handle  func(w http.ResponseWriter, r *http.Request) bool
	rewrite func(resp *http.Response)

	mu   sync.Mutex
	seen []*http.Request
}

func newFront(t *testing.T, shop *shopifytest.Shop) *front {
	f := &front{}
	target, _ := url.Parse(shop.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if f.rewrite != nil {
			f.rewrite(resp)
		}
		return nil
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r)
		handle := f.handle
		f.mu.Unlock()
		if handle != nil && handle(w, r) {
			return
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/moved")
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *front) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.seen...)
}

func (f *front) origin() string { return originOf(f.srv.URL) }

func originOf(raw string) string {
	u, _ := url.Parse(raw)
	return httporigin.Of(u).String()
}

// readUntilError reads stream to its end or its first error, and returns
// the rows read and the error.
func readUntilError(t *testing.T, shop *shopifytest.Shop, endpoint string, extra map[string]any, stream string) (int, error) {
	t.Helper()
	cfg := map[string]any{"endpoint": endpoint}
	for k, v := range extra {
		cfg[k] = v
	}
	c := configure(t, shop, cfg)
	req := sdk.ReadRequest{Stream: stream}
	rows := 0
	for n := 0; n < 500; n++ {
		p, err := c.ReadPage(ctx(t), req)
		if err != nil {
			return rows, err
		}
		if p.Records != nil {
			rows += int(p.Records.NumRows())
			p.Records.Release()
		}
		if p.Done {
			return rows, nil
		}
		req.Checkpoint = p.Checkpoint
	}
	t.Fatal("no end after 500 pages")
	return 0, nil
}

// TestLinkToAnotherOriginRefused: a REST Link header whose next page is
// on another origin than the endpoint (here the same IP, another port)
// fails the read PERMANENT, naming both origins; the other origin sees
// nothing. A link naming the shop's own myshopify.com origin (what Shopify
// sends behind a forwarding proxy) is read as before.
func TestLinkToAnotherOriginRefused(t *testing.T) {
	shop := newShop(t, shopifytest.Options{Orders: 10})
	other := newFront(t, shop)
	fr := newFront(t, shop)
	fr.rewrite = func(resp *http.Response) {
		if l := resp.Header.Get("Link"); l != "" {
			resp.Header.Set("Link", strings.ReplaceAll(l, "http://"+fr.srv.Listener.Addr().String(), other.srv.URL))
		}
	}
	rows, err := readUntilError(t, shop, fr.srv.URL, map[string]any{"api": "rest", "page_size": 3}, "orders")
	if errclass.Of(err) != errclass.Permanent {
		t.Fatalf("read %d rows, err %v (%v); want PERMANENT", rows, err, errclass.Of(err))
	}
	for _, want := range []string{other.origin(), fr.origin(), "https://fake-shop.myshopify.com:443"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), shopifytest.Token) {
		t.Fatalf("the error shows the token: %v", err)
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the other origin saw %d requests", n)
	}

	// The shop's own origin, behind a proxy at the endpoint: followed (to
	// the endpoint, with the page_info).
	fr.rewrite = func(resp *http.Response) {
		if l := resp.Header.Get("Link"); l != "" {
			resp.Header.Set("Link", strings.ReplaceAll(l, "http://"+fr.srv.Listener.Addr().String(), "https://fake-shop.myshopify.com"))
		}
	}
	rows, err = readUntilError(t, shop, fr.srv.URL, map[string]any{"api": "rest", "page_size": 3}, "orders")
	if err != nil || rows != 10 {
		t.Fatalf("read %d rows, err %v; want 10", rows, err)
	}
}

// TestRedirectToAnotherOriginDropsToken: a redirect from the endpoint to
// another origin (the same IP on another port) reaches it without
// X-Shopify-Access-Token (net/http keeps custom headers on every
// redirect), so the shop behind it refuses the request; a redirect within
// the endpoint's origin keeps the token.
func TestRedirectToAnotherOriginDropsToken(t *testing.T) {
	for _, api := range []string{"graphql", "rest"} {
		t.Run(api, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: 5})
			other := newFront(t, shop)
			fr := newFront(t, shop)
			fr.handle = func(w http.ResponseWriter, r *http.Request) bool {
				if strings.HasPrefix(r.URL.Path, "/moved") {
					return false
				}
				// 307 keeps GraphQL's POST and its body.
				http.Redirect(w, r, other.srv.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
				return true
			}
			_, err := readUntilError(t, shop, fr.srv.URL, map[string]any{"api": api}, "orders")
			if errclass.Of(err) != errclass.Permanent || !strings.Contains(err.Error(), "401") {
				t.Fatalf("err = %v (%v); want the shop's 401 to the token-less request", err, errclass.Of(err))
			}
			seen := other.requests()
			if len(seen) != 1 {
				t.Fatalf("the other origin saw %d requests", len(seen))
			}
			if v := seen[0].Header.Get("X-Shopify-Access-Token"); v != "" {
				t.Fatalf("the redirect carried the token to another origin: %q", v)
			}

			// Within the origin: the token goes along and the read succeeds.
			fr.handle = func(w http.ResponseWriter, r *http.Request) bool {
				if strings.HasPrefix(r.URL.Path, "/moved") {
					return false
				}
				http.Redirect(w, r, "/moved"+r.URL.RequestURI(), http.StatusTemporaryRedirect)
				return true
			}
			rows, err := readUntilError(t, shop, fr.srv.URL, map[string]any{"api": api}, "orders")
			if err != nil || rows != 5 {
				t.Fatalf("same-origin redirect: %d rows, err %v", rows, err)
			}
		})
	}
}
