package restconn

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"sync"
)

// digestAuth answers HTTP Digest challenges (RFC 7616, and RFC 2617's
// MD5): algorithms MD5, MD5-sess, SHA-256 and SHA-256-sess, qop "auth"
// (or none, for RFC 2069 servers), userhash. The last challenge is kept,
// so after the first exchange every request is sent once, already
// authorized, with a growing nonce count; a new challenge (e.g. stale=true)
// is answered again.
type digestAuth struct {
	username, password string

	mu sync.Mutex
	ch *digestChallenge
	nc uint32
}

type digestChallenge struct {
	realm, nonce, opaque string
	algorithm            string // upper case, e.g. "SHA-256"
	qop                  string // "auth" or "" (none offered)
	userhash             bool
	stale                bool
}

// setChallenge parses the strongest Digest challenge among a 401
// response's WWW-Authenticate headers; false when there is none usable.
func (d *digestAuth) setChallenge(h http.Header) (stale bool, ok bool) {
	var best *digestChallenge
	for _, ch := range parseChallenges(h.Values("WWW-Authenticate")) {
		if !strings.EqualFold(ch.scheme, "digest") {
			continue
		}
		c := &digestChallenge{
			realm: ch.params["realm"], nonce: ch.params["nonce"], opaque: ch.params["opaque"],
			algorithm: strings.ToUpper(ch.params["algorithm"]),
			userhash:  strings.EqualFold(ch.params["userhash"], "true"),
			stale:     strings.EqualFold(ch.params["stale"], "true"),
		}
		if c.algorithm == "" {
			c.algorithm = "MD5"
		}
		if newHash(c.algorithm) == nil || c.nonce == "" {
			continue
		}
		if q, hasQop := ch.params["qop"]; hasQop {
			for _, o := range strings.Split(q, ",") {
				if strings.EqualFold(strings.TrimSpace(o), "auth") {
					c.qop = "auth"
				}
			}
			if c.qop == "" {
				continue // only auth-int offered: not supported
			}
		}
		if best == nil || strength(c.algorithm) > strength(best.algorithm) {
			best = c
		}
	}
	if best == nil {
		return false, false
	}
	d.mu.Lock()
	d.ch, d.nc = best, 0
	d.mu.Unlock()
	return best.stale, true
}

func strength(alg string) int {
	if strings.HasPrefix(alg, "SHA-256") {
		return 2
	}
	return 1
}

func newHash(alg string) func() hash.Hash {
	switch alg {
	case "MD5", "MD5-SESS":
		return md5.New
	case "SHA-256", "SHA-256-SESS":
		return sha256.New
	}
	return nil
}

// authorization returns the Authorization header for a request, or ""
// before any challenge was seen.
func (d *digestAuth) authorization(method, uri string) string {
	d.mu.Lock()
	ch := d.ch
	if ch == nil {
		d.mu.Unlock()
		return ""
	}
	d.nc++
	nc := d.nc
	d.mu.Unlock()
	var b [16]byte
	_, _ = rand.Read(b[:])
	return digestResponse(ch, d.username, d.password, method, uri, hex.EncodeToString(b[:]), nc)
}

// digestResponse computes the Authorization header value (RFC 7616 §3.4).
func digestResponse(ch *digestChallenge, username, password, method, uri, cnonce string, nc uint32) string {
	newH := newHash(ch.algorithm)
	h := func(s string) string {
		x := newH()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := h(username + ":" + ch.realm + ":" + password)
	if strings.HasSuffix(ch.algorithm, "-SESS") {
		ha1 = h(ha1 + ":" + ch.nonce + ":" + cnonce)
	}
	ha2 := h(method + ":" + uri)
	ncs := fmt.Sprintf("%08x", nc)
	var response string
	if ch.qop == "" {
		response = h(ha1 + ":" + ch.nonce + ":" + ha2)
	} else {
		response = h(ha1 + ":" + ch.nonce + ":" + ncs + ":" + cnonce + ":" + ch.qop + ":" + ha2)
	}
	user := username
	if ch.userhash {
		user = h(username + ":" + ch.realm)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%s, realm=%s, uri=%s, algorithm=%s, nonce=%s`,
		quote(user), quote(ch.realm), quote(uri), ch.algorithm, quote(ch.nonce))
	if ch.qop != "" {
		fmt.Fprintf(&b, `, nc=%s, cnonce=%s, qop=%s`, ncs, quote(cnonce), ch.qop)
	}
	fmt.Fprintf(&b, `, response=%s`, quote(response))
	if ch.opaque != "" {
		fmt.Fprintf(&b, `, opaque=%s`, quote(ch.opaque))
	}
	if ch.userhash {
		b.WriteString(`, userhash=true`)
	}
	return b.String()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// challenge is one auth-scheme with its parameters (RFC 9110 §11.2).
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges reads every challenge of WWW-Authenticate header values:
// a header may hold several, comma-separated, and parameter values may be
// quoted strings holding commas.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		s := v
		var cur *challenge
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			tok := s[:tokenEnd(s)]
			if tok == "" {
				break // malformed: give up on this value
			}
			rest := strings.TrimLeft(s[len(tok):], " \t")
			if strings.HasPrefix(rest, "=") && cur != nil && !strings.HasPrefix(rest, "==") {
				// name=value of the current challenge.
				rest = strings.TrimLeft(rest[1:], " \t")
				val, after := readValue(rest)
				cur.params[strings.ToLower(tok)] = val
				s = after
				continue
			}
			// A new challenge: scheme, possibly followed by token68 or params.
			out = append(out, challenge{scheme: tok, params: map[string]string{}})
			cur = &out[len(out)-1]
			s = rest
		}
	}
	return out
}

func tokenEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == ',' || c == '=' || c == '"' {
			return i
		}
	}
	return len(s)
}

// readValue reads a token or a quoted string at the start of s.
func readValue(s string) (string, string) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String(), s[i+1:]
			default:
				b.WriteByte(s[i])
			}
		}
		return b.String(), ""
	}
	end := strings.IndexAny(s, ", \t")
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}
