package restconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// tokenCache holds an OAuth2 client-credentials token and fetches a new one
// when it is missing, expired (x/oauth2's Valid, which renews 10 seconds
// before the expiry) or invalidated after the API answered 401.
type tokenCache struct {
	cfg *clientcredentials.Config
	hc  *http.Client

	mu  sync.Mutex
	tok *oauth2.Token
	// fetches counts token requests, for tests and logs.
	fetches int
}

func newTokenCache(a authConfig, hc *http.Client) *tokenCache {
	style := oauth2.AuthStyleAutoDetect
	switch a.AuthStyle {
	case "header":
		style = oauth2.AuthStyleInHeader
	case "params":
		style = oauth2.AuthStyleInParams
	}
	return &tokenCache{
		cfg: &clientcredentials.Config{
			ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.TokenURL,
			Scopes: a.Scopes, EndpointParams: a.EndpointParams, AuthStyle: style,
		},
		hc: hc,
	}
}

// token returns a valid access token, fetching one under ctx (its deadline
// bounds the token request too) when needed. A failed fetch is classified
// like any HTTP call: a 5xx or a network error is TRANSIENT, a refused
// client (400/401) PERMANENT.
func (t *tokenCache) token(ctx context.Context, red *httpclass.Redactor) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.Valid() {
		return t.tok, nil
	}
	t.fetches++
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, t.hc))
	if err != nil {
		return nil, classifyTokenError(ctx, err, t.cfg.TokenURL, red)
	}
	t.tok = tok
	return tok, nil
}

// invalidate drops the cached token, so the next request fetches a new one.
func (t *tokenCache) invalidate() {
	t.mu.Lock()
	t.tok = nil
	t.mu.Unlock()
}

func classifyTokenError(ctx context.Context, err error, tokenURL string, red *httpclass.Redactor) error {
	what := "fetch OAuth2 token from POST " + tokenURL
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		resp := *re.Response
		resp.Body = io.NopCloser(bytes.NewReader(re.Body))
		if cerr := httpclass.Classify(ctx, &resp, nil, httpclass.Options{Request: what, Secrets: red.Secrets()}); cerr != nil {
			return cerr
		}
		return errclass.Permanentf("%s: %s", what, red.Redact(re.Error()))
	}
	// A transport error: unwrap to the *url.Error the classifier knows.
	return httpclass.Classify(ctx, nil, err, httpclass.Options{Request: what, Secrets: red.Secrets()})
}
