package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// summary prints one line per flow: rows, bytes, seconds, rows/s, status,
// where the data went, and a failed flow's first error line.
func (a *app) summary(results []engine.FlowResult) {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "FLOW\tROWS\tBYTES\tSECONDS\tROWS/S\tRESULT")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%d\t%s\t%.2f\t%.0f\t%s\n", r.Flow, r.Rows, humanBytes(r.Bytes), r.Elapsed.Seconds(), r.RowsPerSecond(), outcome(r))
	}
	w.Flush()
	for _, r := range results {
		if s := resilienceSummary(r.Resilience); s != "" {
			fmt.Fprintf(a.stdout, "flow %s: %s\n", r.Flow, s)
		}
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(a.stdout, "\nflow %s failed:\n%s\n", r.Flow, indent(r.Err.Error(), "  "))
		}
	}
}

// outcome is a flow's RESULT column: ok or FAILED with the first line of
// its error, then where the data went (see reportText).
func outcome(r engine.FlowResult) string {
	out := "ok"
	switch {
	case r.Skipped:
		return "skipped: the run was stopped before the flow's turn"
	case r.Err != nil:
		return "FAILED: " + firstLine(errorSummary(r.Err))
	case r.Warning != "":
		out = "ok, target unchanged (empty stream, schema unknown)"
	case !r.Committed:
		out = "ok, empty stream (target unchanged)"
	}
	return out + reportText(r.Report)
}

// reportText renders a destination's commit report the same way for every
// destination: ", 500 rows → LOCATION", then its other keys in key order
// in parentheses (" (manifest=…, mode=replace)"). A report without a
// location (a plugin that predates sdk.ReportLocation) is printed as
// " key=value" pairs. Empty for an empty report.
func reportText(report map[string]string) string {
	if len(report) == 0 {
		return ""
	}
	keys := make([]string, 0, len(report))
	for k := range report {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	loc, ok := report[sdk.ReportLocation]
	if !ok {
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, report[k])
		}
		return b.String()
	}
	var b strings.Builder
	if rows, err := strconv.ParseInt(report[sdk.ReportRows], 10, 64); err == nil {
		b.WriteString(", " + plural(int(rows), "row"))
	}
	b.WriteString(" → " + loc)
	var extra []string
	for _, k := range keys {
		if k == sdk.ReportLocation || k == sdk.ReportRows {
			continue
		}
		extra = append(extra, k+"="+report[k])
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	return b.String()
}

// errorSummary is a flow's error without the leading `flow "NAME": ` the
// summary line already says.
func errorSummary(err error) string {
	s := err.Error()
	if strings.HasPrefix(s, "flow \"") {
		if i := strings.Index(s, "\": "); i > 0 {
			s = s[i+3:]
		}
	}
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
