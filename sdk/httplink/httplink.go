// Package httplink reads RFC 8288 Link headers, the pagination links of
// APIs such as GitHub's and Shopify's REST Admin API
// (`Link: <https://…?page_info=abc>; rel="next"`).
package httplink

import (
	"net/http"
	"strings"
)

// Next returns the target of the rel="next" link of h's Link headers, or
// "" when there is none. See [Rel].
func Next(h http.Header) string { return Rel(h.Values("Link"), "next") }

// Rel returns the target of the first link whose relation types include rel
// (compared case-insensitively), or "" when there is none. values are Link
// header values: each a comma-separated list of <uri-reference> followed
// by ;-separated parameters, whose values may be quoted strings (holding
// commas, semicolons or backslash escapes); a rel parameter may list
// several space-separated relation types. The target is returned as
// written, not resolved against the request's URL.
func Rel(values []string, rel string) string {
	for _, v := range values {
		s := v
		for {
			i := strings.IndexByte(s, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				break
			}
			target := strings.TrimSpace(s[i+1 : i+j])
			s = s[i+j+1:]
			// Parameters up to the next link (a comma outside quotes).
			params, rest := splitParams(s)
			s = rest
			for _, p := range params {
				name, val, ok := strings.Cut(p, "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				val = strings.Trim(strings.TrimSpace(val), `"`)
				for _, r := range strings.Fields(val) {
					if strings.EqualFold(r, rel) {
						return target
					}
				}
			}
		}
	}
	return ""
}

// splitParams reads ";param=value" pairs until a comma outside quotes, and
// returns them and what follows the comma.
func splitParams(s string) ([]string, string) {
	var params []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
		case c == '"':
			inQuote = !inQuote
			cur.WriteByte(c)
		case c == ';' && !inQuote:
			if t := strings.TrimSpace(cur.String()); t != "" {
				params = append(params, t)
			}
			cur.Reset()
		case c == ',' && !inQuote:
			if t := strings.TrimSpace(cur.String()); t != "" {
				params = append(params, t)
			}
			return params, s[i+1:]
		default:
			cur.WriteByte(c)
		}
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		params = append(params, t)
	}
	return params, ""
}
