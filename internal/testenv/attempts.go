package testenv

import "regexp"

// AttemptLine matches the host's debug line for a failed attempt of a call
// (host/resilience, --log-level debug):
//
//	Operation 'read' attempt 1/5 failed (PERMANENT): …
//
// Submatches: the operation, the attempt, the most attempts, the class.
var AttemptLine = regexp.MustCompile(`Operation '(\w+)' attempt (\d+)/(\d+) failed \((\w+)\)`)
