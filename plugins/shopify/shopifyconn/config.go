package shopifyconn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
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

var allowedKeys = []string{
	"shop_domain", "access_token", "api_version", "api", "streams", "objects", "page_size", "child_page_size",
	"since_id", "incremental_overlap", "metafields_owner", "endpoint", "timeout", "max_retries", "retry_delay", "webhooks",
}

var (
	shopNameRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	apiVersionRe = regexp.MustCompile(`^(\d{4}-(01|04|07|10)|unstable)$`)
)

// parseConfig validates raw; every problem comes back as a field error.
func parseConfig(raw json.RawMessage) (config, []sdk.FieldError) {
	cfg := config{APIVersion: DefaultAPIVersion, PageSize: defaultPageSize, ChildPageSize: defaultChildPageSize,
		Overlap: defaultOverlap, Owner: "shop", Timeout: defaultTimeout}
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage(`{}`)
	}
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return cfg, []sdk.FieldError{{Message: "the shopify configuration must be a JSON object with at least shop_domain and access_token"}}
	}
	var errs []sdk.FieldError
	fail := func(field, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	// A key set to null is the same as leaving it out.
	for k, v := range fields {
		if string(bytes.TrimSpace(v)) == "null" {
			delete(fields, k)
		}
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !contains(allowedKeys, k) {
			fail(k, "%s", configkey.Unknown(k, allowedKeys))
		}
	}
	str := func(k string) (string, bool) {
		v, ok := fields[k]
		if !ok {
			return "", false
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			fail(k, "must be a string")
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	num := func(k string) (float64, bool) {
		v, ok := fields[k]
		if !ok {
			return 0, false
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			// A number written as a string ("30") is accepted too.
			var s string
			if json.Unmarshal(v, &s) == nil {
				if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
					return f, true
				}
			}
			fail(k, "must be a number")
			return 0, false
		}
		return f, true
	}
	intIn := func(k string, lo, hi int) (int, bool) {
		f, ok := num(k)
		if !ok {
			return 0, false
		}
		if f != float64(int64(f)) || f < float64(lo) || f > float64(hi) {
			fail(k, "must be a whole number from %d to %d, not %v", lo, hi, f)
			return 0, false
		}
		return int(f), true
	}

	if v, ok := fields["webhooks"]; ok {
		wh, werrs := webhookinbox.ParseSettings(v, "webhooks")
		errs = append(errs, werrs...)
		cfg.Webhooks = &wh
	}

	// shop_domain
	if s, ok := str("shop_domain"); ok {
		if shop, msg := normalizeShop(s); msg != "" {
			fail("shop_domain", "%s", msg)
		} else {
			cfg.Shop = shop
			cfg.Base = "https://" + shop
		}
	} else if _, present := fields["shop_domain"]; !present {
		fail("shop_domain", "is required: the shop's name (my-shop) or its my-shop.myshopify.com domain")
	}
	// access_token
	if s, ok := str("access_token"); ok && s != "" {
		cfg.Token = s
	} else if _, present := fields["access_token"]; !present || ok {
		fail("access_token", "is required: the Admin API access token of the shop's custom app (shpat_…); keep it in an environment variable, e.g. access_token: ${SHOPIFY_ACCESS_TOKEN}")
	}
	if s, ok := str("api_version"); ok {
		if !apiVersionRe.MatchString(s) {
			fail("api_version", "must be a Shopify API version such as %s (YYYY-01, -04, -07 or -10) or unstable, not %q", DefaultAPIVersion, s)
		} else {
			cfg.APIVersion = s
		}
	}
	if s, ok := str("api"); ok {
		switch strings.ToLower(s) {
		case "graphql", "":
		case "rest":
			cfg.REST = true
		default:
			fail("api", "must be graphql (the default) or rest, not %q", s)
		}
	}
	// streams / objects
	streamKey := ""
	for _, k := range []string{"streams", "objects"} {
		if _, ok := fields[k]; ok {
			if streamKey != "" {
				fail(k, "give either streams or objects (they are the same key), not both")
				continue
			}
			streamKey = k
		}
	}
	if streamKey != "" {
		var list []string
		v := fields[streamKey]
		if err := json.Unmarshal(v, &list); err != nil {
			var one string
			if json.Unmarshal(v, &one) != nil {
				fail(streamKey, "must be a list of object names")
			} else {
				for _, p := range strings.Split(one, ",") {
					if p = strings.TrimSpace(p); p != "" {
						list = append(list, p)
					}
				}
			}
		}
		known := streamNames()
		for i, name := range list {
			name = strings.ToLower(strings.TrimSpace(name))
			list[i] = name
			if !contains(known, name) {
				fail(fmt.Sprintf("%s[%d]", streamKey, i), "unknown object %q; the objects are %s", name, strings.Join(known, ", "))
			}
		}
		if len(list) == 0 && streamKey != "" {
			fail(streamKey, "lists no object; leave it out to offer every object")
		}
		cfg.Streams = list
	}
	if n, ok := intIn("page_size", 1, maxPageSize); ok {
		cfg.PageSize = n
	}
	if n, ok := intIn("child_page_size", 1, maxPageSize); ok {
		cfg.ChildPageSize = n
	}
	if f, ok := num("since_id"); ok {
		if f < 0 || f != float64(int64(f)) {
			fail("since_id", "must be a whole number ≥ 0 (an object id), not %v", f)
		} else {
			cfg.SinceID = int64(f)
		}
	}
	if f, ok := num("incremental_overlap"); ok {
		if f < 0 || f > 7*24*3600 {
			fail("incremental_overlap", "must be seconds from 0 to 604800 (a week), not %v", f)
		} else {
			cfg.Overlap = time.Duration(f * float64(time.Second))
		}
	}
	if s, ok := str("metafields_owner"); ok {
		s = strings.ToLower(s)
		if _, known := metafieldOwners[s]; !known {
			fail("metafields_owner", "must be one of shop, products, customers, orders, collections, not %q", s)
		} else {
			cfg.Owner = s
		}
	}
	if s, ok := str("endpoint"); ok {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			fail("endpoint", "must be a scheme and host such as http://127.0.0.1:8080 (requests go to <endpoint>/admin/api/<version>/…), not %q", s)
		} else {
			cfg.Base = u.Scheme + "://" + u.Host
		}
	}
	if f, ok := num("timeout"); ok {
		if f <= 0 || f > 3600 {
			fail("timeout", "must be seconds per HTTP request, above 0 and at most 3600, not %v", f)
		} else {
			cfg.Timeout = time.Duration(f * float64(time.Second))
		}
	}
	// max_retries and retry_delay are the old connector's retry knobs: the
	// host maps them onto its resilience policy and normally strips them
	// before Configure. Accepted (when they are numbers) and otherwise
	// ignored here: the plugin never retries.
	for _, k := range []string{"max_retries", "retry_delay"} {
		if f, ok := num(k); ok && f < 0 {
			fail(k, "must not be negative")
		}
	}
	return cfg, errs
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

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
