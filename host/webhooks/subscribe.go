package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Subscriber creates a shop's webhook subscriptions (reconcile
// --recreate), through the REST Admin API's POST webhooks.json: the one
// write sqlflow-host makes to a shop, asked for explicitly. The access
// token goes to Base only; a redirect is refused.
type Subscriber struct {
	// Base is the Admin API's scheme and host: https://<shop>.myshopify.com,
	// or the source's endpoint.
	Base string
	// APIVersion is the Admin API version, e.g. 2025-01.
	APIVersion string
	// Token is the access token; it needs the write scope of the topics'
	// objects' read scope (Shopify asks read_orders for orders/*).
	Token string
	// Client sends the request; nil means one with a 30 s timeout.
	Client *http.Client
}

// SubscriberFor builds a Subscriber from a shopify source's resolved
// configuration (shop_domain or endpoint, api_version, access_token).
func SubscriberFor(cfg map[string]any) (*Subscriber, error) {
	str := func(k string) string { s, _ := cfg[k].(string); return strings.TrimSpace(s) }
	s := &Subscriber{APIVersion: str("api_version"), Token: str("access_token")}
	if s.APIVersion == "" {
		s.APIVersion = "2025-01" // the shopify connector's default
	}
	if ep := str("endpoint"); ep != "" {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, errors.New("endpoint is not a URL")
		}
		s.Base = u.Scheme + "://" + u.Host
	} else {
		shop := strings.ToLower(str("shop_domain"))
		if i := strings.Index(shop, "://"); i >= 0 {
			shop = shop[i+3:]
		}
		if i := strings.IndexAny(shop, "/?#"); i >= 0 {
			shop = shop[:i]
		}
		if shop == "" {
			return nil, errors.New("the source has no shop_domain")
		}
		if !strings.HasSuffix(shop, ".myshopify.com") {
			shop += ".myshopify.com"
		}
		s.Base = "https://" + shop
	}
	if s.Token == "" {
		return nil, errors.New("the source has no access_token")
	}
	return s, nil
}

// CheckAddress checks a subscription address: an absolute https URL
// (Shopify delivers over HTTPS only), or http on a loopback host for tests.
func CheckAddress(address string) error {
	u, err := url.Parse(address)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost"))) {
		return fmt.Errorf("%q is not an https URL: Shopify delivers webhooks to https addresses only", address)
	}
	return nil
}

// Create subscribes address to topic (JSON format).
func (s *Subscriber) Create(ctx context.Context, topic, address string) error {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error {
		return errors.New("the Admin API answered with a redirect; the access token is not sent on")
	}
	body, _ := json.Marshal(map[string]any{"webhook": map[string]any{"topic": topic, "address": address, "format": "json"}})
	u := s.Base + "/admin/api/" + s.APIVersion + "/webhooks.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", s.Token)
	resp, err := noRedirect.Do(req)
	if err != nil {
		return fmt.Errorf("create the %s subscription: POST %s: %w", topic, u, redactErr(err, s.Token))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("create the %s subscription: POST %s: %s: %s", topic, u, resp.Status,
			strings.ReplaceAll(strings.TrimSpace(string(msg)), s.Token, "***"))
	}
	return nil
}

func redactErr(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "***"))
}
