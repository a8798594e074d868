package plugin

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestPluginLogLines: a plugin's log line, as go-plugin hands it on (its
// JSON fields decoded, the plugin's timestamp added as a field, under a
// sub-logger named after the binary), prints once, under the instance's
// name, with one timestamp and plain-text values unescaped.
func TestPluginLogLines(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		args []any
		want string
	}{
		{
			name: "plain text unescaped, one timestamp",
			msg:  "write committed",
			args: []any{"table", `"public"."nc1_orders"`, "rows", float64(500), "timestamp", "2001-02-03T04:05:06.789Z", "repeat", false},
			want: `[INFO]  sqlflow-host.plugin.pg: write committed: repeat=false rows=500 table="public"."nc1_orders"`,
		},
		{
			name: "text with spaces quoted, empty quoted",
			msg:  "retrying the query",
			args: []any{"error", "connection reset by peer", "key", "", "timestamp", "2001-02-03T04:05:06.789Z"},
			want: `[INFO]  sqlflow-host.plugin.pg: retrying the query: error="connection reset by peer" key=""`,
		},
		{
			name: "no fields",
			msg:  "connected",
			args: []any{"timestamp", "2001-02-03T04:05:06.789Z"},
			want: `[INFO]  sqlflow-host.plugin.pg: connected`,
		},
		{
			name: "nested values as JSON",
			msg:  "columns",
			args: []any{"names", []any{"a", "b"}, "big", float64(1234567890123)},
			want: `[INFO]  sqlflow-host.plugin.pg: columns: big=1234567890123 names=["a","b"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			host := hclog.New(&hclog.LoggerOptions{Name: "sqlflow-host", Output: &out, Level: hclog.Info})
			// As the launcher and go-plugin name them.
			l := pluginLogger{Logger: host.Named("plugin").Named("pg")}.Named(BinaryPrefix + "postgres")
			l.Info(tt.msg, tt.args...)
			line := strings.TrimSpace(out.String())
			if strings.Count(line, "\n") != 0 || strings.Contains(line, "2001-02-03") {
				t.Fatalf("want one line with the host's timestamp only: %q", line)
			}
			if _, rest, ok := strings.Cut(line, " "); !ok || rest != tt.want {
				t.Fatalf("got  %q\nwant %q after the timestamp", line, tt.want)
			}
		})
	}
	// go-plugin's own lines keep their fields.
	var out strings.Builder
	host := hclog.New(&hclog.LoggerOptions{Name: "sqlflow-host", Output: &out, Level: hclog.Debug})
	pluginLogger{Logger: host.Named("pg")}.Debug("plugin started", "pid", 12)
	if !strings.Contains(out.String(), "sqlflow-host.pg: plugin started: pid=12") {
		t.Fatalf("go-plugin's line: %q", out.String())
	}
}

// TestPluginLogLinesJSON: in a JSON log a plugin's fields stay fields;
// only go-plugin's copy of the plugin's timestamp goes.
func TestPluginLogLinesJSON(t *testing.T) {
	var out strings.Builder
	host := hclog.New(&hclog.LoggerOptions{Name: "sqlflow-host", Output: &out, Level: hclog.Info, JSONFormat: true})
	l := pluginLogger{Logger: host.Named("plugin").Named("pg"), structured: true}.Named(BinaryPrefix + "postgres")
	l.Info("write committed", "table", `"public"."t"`, "timestamp", "2001-02-03T04:05:06.789Z")
	got := out.String()
	if !strings.Contains(got, `"table":"\"public\".\"t\""`) || strings.Contains(got, "2001-02-03") ||
		!strings.Contains(got, `"@module":"sqlflow-host.plugin.pg"`) || !strings.Contains(got, `"@message":"write committed"`) {
		t.Fatalf("JSON line: %s", got)
	}
}
