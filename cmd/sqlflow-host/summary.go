package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/host/engine"
	"github.com/sqlflow/sqlflow-host/sdk"
)

// resultText is a flow's RESULT column: ok or FAILED with the first line of
// its error, then where the data went (see reportText).
func resultText(r engine.FlowResult) string {
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
