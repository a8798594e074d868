package httpclass

import (
	"regexp"
	"sort"
	"strings"
)

// Redactor removes secrets from text bound for an error message or a log.
// It replaces every occurrence of the secrets it was given, and also the
// values of secret-looking fields whatever their value: JSON members and
// query or form parameters named like a credential ("password",
// "access_token", "api_key", "client_secret", "signature", ...), the
// credentials of Authorization-style "Bearer …" / "Basic …" text, and the
// userinfo of URLs ("https://bob:pw@host/" becomes "https://***@host/").
//
// A nil *Redactor redacts only the secret-looking fields.
type Redactor struct {
	secrets []string
}

// NewRedactor returns a Redactor for secrets; empty strings and strings of
// fewer than 4 bytes (too short to search for without mangling ordinary
// text) are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a secret containing another is removed whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// Secrets returns the secrets r redacts (nil for a nil Redactor), e.g. to
// pass on in Options.Secrets.
func (r *Redactor) Secrets() []string {
	if r == nil {
		return nil
	}
	return append([]string(nil), r.secrets...)
}

// secretName matches the names of fields that hold credentials.
const secretName = `(?i:[a-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|signature|authorization|credential|session)[a-z0-9_.-]*)`

var (
	// "name": "value" in JSON.
	jsonSecretRe = regexp.MustCompile(`("` + secretName + `"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	// name=value in a query string or form body.
	querySecretRe = regexp.MustCompile(`([?&;\s]` + secretName + `=)[^&\s"'#]*`)
	// Authorization schemes followed by a credential.
	schemeRe = regexp.MustCompile(`(?i)\b(bearer|basic|digest|token)(\s+)[A-Za-z0-9._~+/=:-]{8,}`)
	// The userinfo of a URL: scheme://user[:password]@.
	userinfoRe = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s"'<>@]+@`)
)

// RedactURL returns s with the userinfo of every URL in it masked
// ("https://bob:pw@host/x" becomes "https://***@host/x"). Redact does
// this too; RedactURL is for text that holds no other secret.
func RedactURL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfoRe.ReplaceAllString(s, "${1}***@")
}

// Redact returns s with secrets replaced by "***".
func (r *Redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	if r != nil {
		for _, sec := range r.secrets {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	s = RedactURL(s)
	s = jsonSecretRe.ReplaceAllString(s, `$1"***"`)
	s = querySecretRe.ReplaceAllString(s, `${1}***`)
	s = schemeRe.ReplaceAllString(s, `$1$2***`)
	return s
}
