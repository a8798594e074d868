package plugin

import (
	"strings"

	"github.com/sqlflow/sqlflow-host/internal/cpuprofile"
)

// allowedEnv is the environment every plugin gets from the host: what a
// process needs to run (PATH, HOME, the user's name, TMPDIR), to read and
// write text and times as the user expects (locale, time zone), to reach
// the network through the user's proxy and trust the user's CA bundle,
// and the Go runtime's settings. A name ending in "*" is a prefix.
// Nothing else of the host's environment reaches a plugin unless its Spec
// declares it (sdk.Spec.Env); secrets reach plugins through Configure.
var allowedEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "TMPDIR",
	"LANG", "LANGUAGE", "LC_*", "TZ",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "GOTRACEBACK",
	cpuprofile.EnvVar,
}

// AllowedEnv returns the names (and "*"-ended prefixes) of the host's
// environment variables that every plugin gets.
func AllowedEnv() []string { return append([]string(nil), allowedEnv...) }

// matchEnv reports whether the variable name matches one of patterns: a
// name, or a prefix ending in "*". A bare "*" matches nothing: a plugin
// cannot ask for the whole environment.
func matchEnv(name string, patterns []string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if prefix != "" && strings.HasPrefix(name, prefix) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}

// pluginEnv returns the variables of env (KEY=value) a plugin gets: those
// of the allow-list, and those matching declared (its Spec's Env).
func pluginEnv(env []string, declared []string) []string {
	out := make([]string, 0, 16)
	for _, kv := range env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if matchEnv(name, allowedEnv) || matchEnv(name, declared) {
			out = append(out, kv)
		}
	}
	return out
}

// declaresMore reports whether declared lets a plugin have a variable of
// env that the allow-list alone does not.
func declaresMore(env []string, declared []string) bool {
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !matchEnv(name, allowedEnv) && matchEnv(name, declared) {
			return true
		}
	}
	return false
}
