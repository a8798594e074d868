package plugin

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/go-hclog"
)

// pluginLogger is the logger go-plugin gets for one plugin instance. It
// passes go-plugin's own lines through, and makes the plugin's log lines
// (its hclog JSON on stderr, which go-plugin decodes and logs again under
// a sub-logger named after the binary) read as a person expects:
//
//   - under the instance's name only (not "plugin.pg.sqlflow-plugin-postgres");
//   - with one timestamp, the host's: go-plugin adds the plugin's own as a
//     "timestamp" field, which is dropped;
//   - with their fields in key order and plain-text values unescaped
//     (table="public"."orders", not table="\"public\".\"orders\""); a value
//     with spaces or control characters is quoted as Go quotes strings.
//
// hclog's text format quotes and escapes every value that is not plain
// ASCII without spaces, so the fields are written into the message. With
// structured set (a JSON log) they stay fields, only the timestamp goes.
type pluginLogger struct {
	hclog.Logger
	structured bool
}

// Named returns the logger of the plugin's own lines for the sub-logger
// go-plugin names after the binary, else a pluginLogger.
func (l pluginLogger) Named(name string) hclog.Logger {
	if strings.HasPrefix(name, BinaryPrefix) {
		return pluginLines{l.Logger, l.structured}
	}
	return pluginLogger{l.Logger.Named(name), l.structured}
}

// With keeps the wrapper.
func (l pluginLogger) With(args ...any) hclog.Logger {
	return pluginLogger{l.Logger.With(args...), l.structured}
}

// pluginLines logs the plugin's own lines (see pluginLogger).
type pluginLines struct {
	hclog.Logger
	structured bool
}

func (l pluginLines) Log(level hclog.Level, msg string, args ...any) {
	if l.structured {
		var kept []any
		for i := 0; i+1 < len(args); i += 2 {
			if k, _ := args[i].(string); k != "timestamp" {
				kept = append(kept, args[i], args[i+1])
			}
		}
		l.Logger.Log(level, msg, kept...)
		return
	}
	l.Logger.Log(level, lineOf(msg, args))
}
func (l pluginLines) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l pluginLines) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l pluginLines) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l pluginLines) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l pluginLines) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

// lineOf renders a plugin's log line: its message, then ": " and its
// fields as key=value in key order, without go-plugin's "timestamp".
func lineOf(msg string, args []any) string {
	type kv struct{ k, v string }
	var fields []kv
	for i := 0; i+1 < len(args); i += 2 {
		k, _ := args[i].(string)
		if k == "timestamp" {
			continue
		}
		fields = append(fields, kv{k, valueOf(args[i+1])})
	}
	if len(fields) == 0 {
		return msg
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].k < fields[j].k })
	var b strings.Builder
	b.WriteString(msg)
	b.WriteString(":")
	for _, f := range fields {
		b.WriteString(" " + f.k + "=" + f.v)
	}
	return b.String()
}

// valueOf renders a field's value as decoded from the plugin's JSON
// line: plain text as it is, other text quoted, numbers without a
// needless exponent, anything else as JSON.
func valueOf(v any) string {
	switch v := v.(type) {
	case string:
		if plain(v) {
			return v
		}
		return strconv.Quote(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return strconv.Quote(err.Error())
	}
	return string(b)
}

// plain reports whether s reads unquoted: not empty, printable, without
// spaces.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
