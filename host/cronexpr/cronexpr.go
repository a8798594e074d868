// Package cronexpr parses the schedule of a flow (its schedule: key):
// a cron expression of five fields (minute hour day-of-month month
// day-of-week), of six with a leading seconds field, or a descriptor such
// as @hourly or "@every 15s". Parsing is github.com/robfig/cron/v3's, the
// library River's own periodic jobs use.
package cronexpr

import (
	"fmt"

	"github.com/robfig/cron/v3"
)

// parser accepts an optional seconds field so that short schedules (a
// test's "every second") can be written; five fields mean whole minutes.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Allowed says what a schedule may be, for error messages.
const Allowed = `a cron expression of 5 fields (minute hour day-of-month month day-of-week, e.g. "*/15 * * * *"), ` +
	`6 with a leading seconds field, or a descriptor (@hourly, @daily, "@every 30s")`

// Parse returns the schedule expr describes; the error says what is
// wrong and what is allowed.
func Parse(expr string) (cron.Schedule, error) {
	s, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid schedule (%v); use %s", expr, err, Allowed)
	}
	return s, nil
}
