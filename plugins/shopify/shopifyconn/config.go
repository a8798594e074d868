package shopifyconn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	sdkconfig "github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// DefaultAPIVersion is the Admin API version asked for when api_version is
// not given: a stable version Shopify supports for at least a year after
// its release. Pinning it keeps the columns' meaning fixed; raise it
// deliberately.
const DefaultAPIVersion = "2025-01"

// Defaults of the other keys.
const (
	defaultPageSize      = 250 // Shopify's largest page, REST and GraphQL
	defaultChildPageSize = 50  // an order's transactions, refunds or fulfillments per request
	defaultTimeout       = 30 * time.Second
	defaultOverlap       = 5 * time.Minute
	maxPageSize          = 250
)

// config is a validated configuration.
type config struct {
	// Shop is the shop's myshopify.com host name.
	Shop string
	// Base is the scheme and host requests go to: https://<Shop>, or the
	// endpoint override.
	Base          string
	Token         string
	APIVersion    string
	REST          bool
	Streams       []string // selected streams; nil means all
	PageSize      int
	ChildPageSize int
	SinceID       int64
	Overlap       time.Duration
	Owner         string // metafields_owner
	Timeout       time.Duration
	// Webhooks is the webhooks: block; nil without one. It adds the
	// webhook_events stream, read from the inbox it names.
	Webhooks *webhookinbox.Settings
}

// keys declares the configuration as the user writes it; parseConfig
// turns it into a config.
type keys struct {
	Shop          shopDomain                `config:"shop_domain,required" doc:"the shop's name (my-shop) or its my-shop.myshopify.com domain"`
	Token         sdkconfig.Secret          `config:"access_token,required" doc:"the Admin API access token of the shop's custom app (shpat_…); keep it in an environment variable, e.g. access_token: ${SHOPIFY_ACCESS_TOKEN}"`
	APIVersion    string                    `config:"api_version" default:"2025-01" doc:"A Shopify API version (YYYY-01, -04, -07 or -10) or unstable."`
	API           string                    `config:"api" default:"graphql" doc:"graphql (the default) or rest."`
	Streams       *streamList               `config:"streams" alias:"objects" doc:"The objects to offer as streams (a list, or a comma-separated string); all when left out."`
	PageSize      *sdkconfig.Number         `config:"page_size" doc:"Objects per request, 1 to 250 (default 250)."`
	ChildPageSize *sdkconfig.Number         `config:"child_page_size" doc:"An order's transactions, refunds or fulfillments per request, 1 to 250 (default 50)."`
	SinceID       *sdkconfig.Number         `config:"since_id" doc:"Read only objects with a larger id."`
	Overlap       *sdkconfig.Number         `config:"incremental_overlap" doc:"Seconds an incremental read goes back behind its cursor (default 300)."`
	Owner         string                    `config:"metafields_owner" default:"shop" doc:"shop, products, customers, orders or collections."`
	Endpoint      string                    `config:"endpoint" doc:"A scheme and host such as http://127.0.0.1:8080 that requests go to instead of the shop (tests)."`
	Timeout       *sdkconfig.Number         `config:"timeout" doc:"Seconds per HTTP request (default 30)."`
	MaxRetries    *sdkconfig.Number         `config:"max_retries" doc:"The old connector's retry knob, mapped by the host onto its resilience policy; ignored here."`
	RetryDelay    *sdkconfig.Number         `config:"retry_delay" doc:"The old connector's retry knob, mapped by the host onto its resilience policy; ignored here."`
	Webhooks      *webhookinbox.ConfigBlock `config:"webhooks" doc:"Shopify webhooks received by sqlflow-host serve: secret, topics and inbox; adds the webhook_events stream."`
}

var (
	shopNameRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	apiVersionRe = regexp.MustCompile(`^(\d{4}-(01|04|07|10)|unstable)$`)
)

// shopDomain is shop_domain as normalizeShop reads it.
type shopDomain string

// UnmarshalConfig reads a shop's name or domain.
func (s *shopDomain) UnmarshalConfig(raw json.RawMessage) error {
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return errors.New("must be a string")
	}
	shop, msg := normalizeShop(v)
	if msg != "" {
		return errors.New(msg)
	}
	*s = shopDomain(shop)
	return nil
}

// ConfigSchema describes shop_domain.
func (shopDomain) ConfigSchema() map[string]any { return map[string]any{"type": "string"} }

// streamList is the streams key: object names, as a list or a
// comma-separated string, lower-cased.
type streamList []string

// UnmarshalConfig reads the names and checks each is an object.
func (l *streamList) UnmarshalConfig(raw json.RawMessage) error {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return errors.New("must be a list of object names")
		}
		for _, p := range strings.Split(one, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
	}
	if len(list) == 0 {
		return errors.New("lists no object; leave it out to offer every object")
	}
	known := streamNames()
	var errs sdkconfig.Errors
	for i, name := range list {
		name = strings.ToLower(strings.TrimSpace(name))
		list[i] = name
		if !slices.Contains(known, name) {
			errs = append(errs, sdk.FieldError{Field: fmt.Sprintf("[%d]", i), Message: fmt.Sprintf("unknown object %q; the objects are %s", name, strings.Join(known, ", "))})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	*l = list
	return nil
}

// ConfigSchema describes the streams key.
func (streamList) ConfigSchema() map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"enum": streamNames()}}}}
}

// configSchema is the JSON Schema of the configuration, reported in Spec.
var configSchema = sdkconfig.Schema(keys{})

// parseConfig validates raw; every problem comes back as a field error.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	var k keys
	errs := sdkconfig.Errors((sdkconfig.Decoder{Name: "shopify"}).Decode(raw, &k))
	fail := errs.Addf
	cfg := config{Shop: string(k.Shop), Token: strings.TrimSpace(k.Token.Value()), APIVersion: DefaultAPIVersion, PageSize: defaultPageSize, ChildPageSize: defaultChildPageSize,
		Overlap: defaultOverlap, Owner: "shop", Timeout: defaultTimeout}
	if cfg.Shop != "" {
		cfg.Base = "https://" + cfg.Shop
	}
	if k.Streams != nil {
		cfg.Streams = *k.Streams
	}
	if k.Webhooks != nil {
		cfg.Webhooks = &k.Webhooks.Settings
	}
	if cfg.Token == "" && !missing(errs, "access_token") {
		fail("access_token", "is required: the Admin API access token of the shop's custom app (shpat_…); keep it in an environment variable, e.g. access_token: ${SHOPIFY_ACCESS_TOKEN}")
	}
	if s := strings.TrimSpace(k.APIVersion); !apiVersionRe.MatchString(s) {
		fail("api_version", "must be a Shopify API version such as %s (YYYY-01, -04, -07 or -10) or unstable, not %q", DefaultAPIVersion, s)
	} else {
		cfg.APIVersion = s
	}
	switch s := strings.TrimSpace(k.API); strings.ToLower(s) {
	case "graphql", "":
	case "rest":
		cfg.REST = true
	default:
		fail("api", "must be graphql (the default) or rest, not %q", s)
	}
	intIn := func(key string, n *sdkconfig.Number, lo, hi int, dst *int) {
		if n == nil {
			return
		}
		if f := float64(*n); f != float64(int64(f)) || f < float64(lo) || f > float64(hi) {
			fail(key, "must be a whole number from %d to %d, not %v", lo, hi, f)
		} else {
			*dst = int(f)
		}
	}
	intIn("page_size", k.PageSize, 1, maxPageSize, &cfg.PageSize)
	intIn("child_page_size", k.ChildPageSize, 1, maxPageSize, &cfg.ChildPageSize)
	if k.SinceID != nil {
		if f := float64(*k.SinceID); f < 0 || f != float64(int64(f)) {
			fail("since_id", "must be a whole number ≥ 0 (an object id), not %v", f)
		} else {
			cfg.SinceID = int64(f)
		}
	}
	if k.Overlap != nil {
		if f := float64(*k.Overlap); f < 0 || f > 7*24*3600 {
			fail("incremental_overlap", "must be seconds from 0 to 604800 (a week), not %v", f)
		} else {
			cfg.Overlap = time.Duration(f * float64(time.Second))
		}
	}
	if s := strings.ToLower(strings.TrimSpace(k.Owner)); !known(s) {
		fail("metafields_owner", "must be one of shop, products, customers, orders, collections, not %q", s)
	} else {
		cfg.Owner = s
	}
	if s := strings.TrimSpace(k.Endpoint); s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			fail("endpoint", "must be a scheme and host such as http://127.0.0.1:8080 (requests go to <endpoint>/admin/api/<version>/…), not %q", s)
		} else {
			cfg.Base = u.Scheme + "://" + u.Host
		}
	}
	if k.Timeout != nil {
		if f := float64(*k.Timeout); f <= 0 || f > 3600 {
			fail("timeout", "must be seconds per HTTP request, above 0 and at most 3600, not %v", f)
		} else {
			cfg.Timeout = time.Duration(f * float64(time.Second))
		}
	}
	// max_retries and retry_delay are the old connector's retry knobs: the
	// host maps them onto its resilience policy and normally strips them
	// before Configure. Accepted (when they are numbers) and otherwise
	// ignored here: the plugin never retries.
	for key, n := range map[string]*sdkconfig.Number{"max_retries": k.MaxRetries, "retry_delay": k.RetryDelay} {
		if n != nil && *n < 0 {
			fail(key, "must not be negative")
		}
	}
	return cfg, errs
}

// missing reports whether errs already says key is required.
func missing(errs []sdk.FieldError, key string) bool {
	for _, e := range errs {
		if e.Field == key {
			return true
		}
	}
	return false
}

// normalizeShop turns what a user may write for shop_domain (my-shop,
// my-shop.myshopify.com, https://my-shop.myshopify.com/admin) into the
// shop's host name, or returns a message saying what is wrong.
func normalizeShop(s string) (string, string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", "is required: the shop's name (my-shop) or its my-shop.myshopify.com domain"
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	name := strings.TrimSuffix(s, ".myshopify.com")
	if strings.Contains(name, ".") {
		return "", fmt.Sprintf("%q is not a myshopify.com domain: the Admin API answers only on the shop's my-shop.myshopify.com domain, not on a custom domain (write my-shop or my-shop.myshopify.com)", s)
	}
	if !shopNameRe.MatchString(name) {
		return "", fmt.Sprintf("%q is not a shop name: use the letters, digits and hyphens of my-shop.myshopify.com", s)
	}
	return name + ".myshopify.com", ""
}

func streamNames() []string {
	var names []string
	for _, o := range catalog("shop") {
		names = append(names, o.Name)
	}
	return names
}

// known reports whether s is a metafields owner.
func known(s string) bool {
	_, ok := metafieldOwners[s]
	return ok
}

func contains(list []string, v string) bool { return slices.Contains(list, v) }
