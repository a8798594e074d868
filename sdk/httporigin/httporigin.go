// Package httporigin keeps an HTTP connector's credentials on the origin
// they were configured for.
//
// An origin is the (scheme, host, port) of a URL, as RFC 6454 defines it,
// with the port made explicit: https://api.example.com and
// https://api.example.com:443 are one origin; http://api.example.com,
// https://api.example.com:8443 and https://eu.api.example.com are three
// others. A connector's origin is that of the URL it was configured with
// (rest's url, shopify's shop or endpoint, gsheets' endpoint).
//
// A [Scope] is that origin plus what carries the connector's credentials
// (header names, query parameter names). Its [Scope.CheckRedirect], set as
// an http.Client's CheckRedirect, follows net/http's rules with three
// changes:
//
//   - a hop to another origin (another scheme, host or port) drops every
//     credential: Authorization, Cookie and Cookie2, the scope's headers,
//     the scope's query parameters, any userinfo of the URL, and the
//     Referer net/http sets (the previous URL, query included). net/http
//     drops only Authorization and cookies, and only when the host
//     changes, so it keeps them for the same host on another port and
//     keeps every other header (an API key header) everywhere;
//   - once a chain has left the origin, its later hops carry no
//     credentials either, even one that comes back (as net/http does for
//     the headers it knows);
//   - a hop from https to plain http is refused (PERMANENT), whatever it
//     carries: the caller asked for a secure channel.
//
// [Scope.Allows] answers the same question for code that adds credentials
// itself, such as an http.RoundTripper that sets a token on each request
// (a redirect hop passes through it again). Links a server gives
// (next-page URLs) are the connector's to check, with [Of] and
// [Origin.String] for the message; see docs/security.md.
package httporigin

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Origin is the scheme, host and port of a URL, lower-cased, with the
// scheme's default port written out (http 80, https 443). The zero Origin
// is no origin: a relative URL, or one without a host.
type Origin struct {
	// Scheme is "http" or "https" (or another scheme, lower-cased).
	Scheme string
	// Host is the host name or IP address, lower-cased, without the
	// brackets of an IPv6 address.
	Host string
	// Port is the port number as text, never empty for http and https.
	Port string
}

// Of returns the origin of u; the zero Origin when u is nil or has no
// scheme or host.
func Of(u *url.URL) Origin {
	if u == nil || u.Scheme == "" || u.Host == "" {
		return Origin{}
	}
	o := Origin{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Hostname()), Port: u.Port()}
	if o.Port == "" {
		switch o.Scheme {
		case "http":
			o.Port = "80"
		case "https":
			o.Port = "443"
		}
	}
	return o
}

// Parse returns the origin of the absolute URL raw.
func Parse(raw string) (Origin, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Origin{}, err
	}
	o := Of(u)
	if o.IsZero() {
		return Origin{}, errors.New("not an absolute URL with a host")
	}
	return o, nil
}

// IsZero reports whether o is the zero Origin.
func (o Origin) IsZero() bool { return o == Origin{} }

// String returns o as scheme://host:port, the port always written
// ("https://api.example.com:443"), so that two origins that differ only by
// port read differently in a message. It never holds userinfo, a path or
// a query, so it is safe to show.
func (o Origin) String() string {
	if o.IsZero() {
		return "(no origin)"
	}
	if o.Port == "" {
		return o.Scheme + "://" + bracket(o.Host)
	}
	return o.Scheme + "://" + net.JoinHostPort(o.Host, o.Port)
}

func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// Contains reports whether u is on origin o.
func (o Origin) Contains(u *url.URL) bool { return !o.IsZero() && Of(u) == o }

// CredentialHeaders are the headers every Scope treats as credentials, on
// top of its own Headers.
var CredentialHeaders = []string{"Authorization", "Cookie", "Cookie2"}

// maxRedirects is net/http's default limit, with its message (which
// go-retryablehttp's policy, and so package httpclass, recognises as a
// PERMANENT failure).
const maxRedirects = 10

// Scope is where a connector's credentials may go and what carries them.
type Scope struct {
	// Origin is the only origin that receives the credentials.
	Origin Origin
	// Headers names request headers that carry credentials, besides
	// CredentialHeaders (an API key header, X-Shopify-Access-Token, a
	// user's custom headers). Names are case-insensitive.
	Headers []string
	// Params names query parameters that carry credentials (an API key
	// sent in the query string).
	Params []string
}

// Allows reports whether req may carry the scope's credentials: it goes
// to the scope's origin and, when it is a redirect hop (req.Response is
// the redirect that led to it), every earlier hop of its chain did too.
func (s Scope) Allows(req *http.Request) bool {
	for r, hops := req, 0; r != nil && hops <= maxRedirects+1; hops++ {
		if !s.Origin.Contains(r.URL) {
			return false
		}
		if r.Response == nil {
			break
		}
		r = r.Response.Request
	}
	return true
}

// Strip removes every credential of the scope from req: CredentialHeaders,
// the scope's Headers, the scope's Params from the URL's query, the URL's
// userinfo (which net/http would send as basic auth), and Referer (which
// net/http sets on a redirect hop to the previous URL, query and all). It
// changes req.URL in place.
func (s Scope) Strip(req *http.Request) {
	for _, h := range CredentialHeaders {
		req.Header.Del(h)
	}
	req.Header.Del("Referer")
	for _, h := range s.Headers {
		req.Header.Del(h)
	}
	if req.URL == nil {
		return
	}
	req.URL.User = nil
	if len(s.Params) > 0 && req.URL.RawQuery != "" {
		q := req.URL.Query()
		found := false
		for _, p := range s.Params {
			if _, ok := q[p]; ok {
				q.Del(p)
				found = true
			}
		}
		if found {
			req.URL.RawQuery = q.Encode()
		}
	}
}

// CheckRedirect is an http.Client CheckRedirect: it stops after 10
// redirects (net/http's limit and message), refuses a hop from https to
// http with a PERMANENT error naming both origins, and strips the scope's
// credentials (see [Scope.Strip]) from a hop that [Scope.Allows] refuses.
// A hop that stays on the origin keeps them.
func (s Scope) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	if len(via) > 0 {
		prev := via[len(via)-1].URL
		if strings.EqualFold(prev.Scheme, "https") && strings.EqualFold(req.URL.Scheme, "http") {
			return errclass.Permanentf("refusing the redirect from %s to %s: it leaves https for plain http, where the request and its answer could be read and changed on the way",
				Of(prev), Of(req.URL))
		}
	}
	if !s.Allows(req) {
		s.Strip(req)
	}
	return nil
}
