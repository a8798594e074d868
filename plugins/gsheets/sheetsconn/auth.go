package sheetsconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/sqlflow/sqlflow-host/sdk/classify/googleclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/httporigin"
)

// readOnlyScope is the only OAuth2 scope the connector asks for.
const readOnlyScope = "https://www.googleapis.com/auth/spreadsheets.readonly"

// credentials authorizes requests: an API key, or an OAuth2 access token
// fetched (and cached until it expires) with the call's context, so a
// token fetch is cancelled with the call and bounded by its deadline.
// Configure builds new credentials, dropping the cached token: that is
// how the host's credential refresh takes effect.
type credentials struct {
	kind   authKind
	apiKey string
	// fetch gets a new token; nil for an API key.
	fetch func(ctx context.Context) (*oauth2.Token, error)

	mu    sync.Mutex
	tok   *oauth2.Token
	email string // the service account's email, when known
}

// newCredentials builds the credentials of cfg. Token requests go through
// base (its transport, never the authorized one).
func newCredentials(cfg config, base *http.Client) (*credentials, error) {
	c := &credentials{kind: cfg.Auth, apiKey: cfg.APIKey, email: cfg.ClientEmail}
	withClient := func(ctx context.Context) context.Context {
		return context.WithValue(ctx, oauth2.HTTPClient, base)
	}
	switch cfg.Auth {
	case authAPIKey:
	case authServiceJSON:
		var typ struct {
			Type string `json:"type"`
		}
		json.Unmarshal(cfg.KeyJSON, &typ)
		if typ.Type == "service_account" {
			jc, err := google.JWTConfigFromJSON(cfg.KeyJSON, readOnlyScope)
			if err != nil {
				return nil, errclass.Permanentf("service account key: %v", err)
			}
			c.fetch = func(ctx context.Context) (*oauth2.Token, error) {
				return jc.TokenSource(withClient(ctx)).Token()
			}
			break
		}
		key := cfg.KeyJSON
		c.fetch = func(ctx context.Context) (*oauth2.Token, error) {
			creds, err := google.CredentialsFromJSONWithType(withClient(ctx), key, google.AuthorizedUser, readOnlyScope)
			if err != nil {
				return nil, errclass.Permanentf("user credentials: %v", err)
			}
			return creds.TokenSource.Token()
		}
	default:
		c.fetch = func(ctx context.Context) (*oauth2.Token, error) {
			creds, err := google.FindDefaultCredentials(withClient(ctx), readOnlyScope)
			if err != nil {
				return nil, errclass.Permanentf("no credentials configured and no application default credentials found (%v): "+
					"set credentials_file or credentials_json to a service account key, api_key for a public sheet, "+
					"or GOOGLE_APPLICATION_CREDENTIALS for the host", err)
			}
			if email := emailOf(creds.JSON); email != "" {
				c.mu.Lock()
				c.email = email
				c.mu.Unlock()
			}
			return creds.TokenSource.Token()
		}
	}
	return c, nil
}

// emailOf returns the client_email of a credentials JSON, or "".
func emailOf(data []byte) string {
	var k struct {
		ClientEmail string `json:"client_email"`
	}
	json.Unmarshal(data, &k)
	return k.ClientEmail
}

// account returns the service account's email, or "" when unknown.
func (c *credentials) account() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.email
}

// token returns a valid access token, fetching one when the cached one
// is missing or about to expire. Fetch errors come back classified.
func (c *credentials) token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	tok := c.tok
	c.mu.Unlock()
	if tok.Valid() {
		return tok, nil
	}
	tok, err := c.fetch(ctx)
	if err != nil {
		return nil, c.fetchError(ctx, err)
	}
	c.mu.Lock()
	c.tok = tok
	c.mu.Unlock()
	return tok, nil
}

// fetchError classifies a failed token fetch. The class is kept on the
// outermost error, so a caller unwrapping to the first *errclass.Error
// (past http.Client's *url.Error) still gets the whole message.
func (c *credentials) fetchError(ctx context.Context, err error) error {
	email := c.account()
	var rerr *oauth2.RetrieveError
	switch {
	case errclass.Of(err) != errclass.Unknown:
		// Classified already (no credentials found).
	case errors.As(err, &rerr):
		err = googleclass.Classify(ctx, err, googleclass.Options{})
		if errclass.Is(err, errclass.AuthExpired) {
			err = fmt.Errorf("%w (the key may have been deleted or disabled: create a new key for the service account and update credentials_file or credentials_json)", err)
		}
		if email != "" {
			err = fmt.Errorf("service account %s: %w", email, err)
		}
	default:
		what := "fetch an access token"
		if email != "" {
			what += " for " + email
		}
		err = googleclass.Classify(ctx, err, googleclass.Options{Request: what})
	}
	if errclass.Of(err) == errclass.Unknown {
		return err // context.Canceled
	}
	return &errclass.Error{Class: errclass.Of(err), RetryAfter: errclass.RetryAfter(err), Err: err}
}

// forget drops tok from the cache when it is still the cached one (the
// API refused it), so the next request fetches a new one.
func (c *credentials) forget(tok *oauth2.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == tok {
		c.tok = nil
	}
}

// apiKeyHeader carries an API key.
const apiKeyHeader = "X-Goog-Api-Key"

// transport authorizes each request to the endpoint's origin: the API key
// in the X-Goog-Api-Key header (never in the URL, so it cannot leak into
// a message or log), or a bearer token. A request elsewhere, such as a
// redirect hop to another origin (the client sends every hop through the
// transport again), or any hop after one, goes without them.
type transport struct {
	base  http.RoundTripper
	creds *credentials
	scope httporigin.Scope
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.scope.Allows(req) {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	var tok *oauth2.Token
	if t.creds.kind == authAPIKey {
		r.Header.Set(apiKeyHeader, t.creds.apiKey)
	} else {
		var err error
		if tok, err = t.creds.token(req.Context()); err != nil {
			return nil, err
		}
		tok.SetAuthHeader(r)
	}
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && tok != nil {
		t.creds.forget(tok)
	}
	return resp, err
}
