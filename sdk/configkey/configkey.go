// Package configkey words the error for a configuration key that a
// connector does not know, suggesting the allowed key the user most likely
// meant, so that a connector's keys are checked the way the host checks
// its own pipeline keys.
//
// A connector's Configure reports such a key as a field error:
//
//	sdk.FieldError{Field: "pasword", Message: configkey.Unknown("pasword", allowedKeys)}
//
// whose message reads
//
//	unknown key "pasword" (did you mean password?); allowed keys: host, password, port
package configkey

import (
	"fmt"
	"strings"
)

// maxLen bounds the names compared (in runes); a longer name is never close
// to anything, which keeps a pathological key from costing quadratic time.
const maxLen = 64

// Unknown returns the message for key, which is not among allowed:
//
//	unknown key "pasword" (did you mean password?); allowed keys: host, password, port
//
// The suggestion is the one [Suggest] gives and is left out when no
// allowed key is close. The allowed keys are listed in the order given.
// The message does not hold the field's path: a connector puts the path in
// the FieldError's Field, as it was written ("auth.tokne" for a nested key).
func Unknown(key string, allowed []string) string {
	return fmt.Sprintf("unknown key %s%s; allowed keys: %s", Quote(key), Suggest(key, allowed), strings.Join(allowed, ", "))
}

// Suggest returns " (did you mean X?)", where X is the entry of allowed
// closest to s, or "" when none is close. Close means a Levenshtein
// distance below 3 between the two names compared case-insensitively (so
// "Password" suggests "password"); on a tie the earlier entry of allowed
// wins. Names longer than 64 characters are never close. The leading space
// lets a caller append the result to any message.
func Suggest(s string, allowed []string) string {
	best, bestD := "", 3
	ls := []rune(strings.ToLower(s))
	for _, a := range allowed {
		if d := distance(ls, []rune(strings.ToLower(a))); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// distance is the Levenshtein distance between a and b (insertions,
// deletions and substitutions of one rune each), or maxLen when either is
// longer than maxLen.
func distance(a, b []rune) int {
	if len(a) > maxLen || len(b) > maxLen {
		return maxLen
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
