package main

import (
	"encoding/json"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/sqlflow/sqlflow-host/host/jobs"
)

// submitJSON is submit's --output json document.
type submitJSON struct {
	Version  int             `json:"version"`
	Command  string          `json:"command"`
	Pipeline string          `json:"pipeline"`
	Jobs     []submittedJSON `json:"jobs"`
}

type submittedJSON struct {
	Flow  string `json:"flow"`
	JobID int64  `json:"job_id"`
	// Duplicate is true when the flow already had a job waiting or
	// running (JobID is that job).
	Duplicate bool `json:"duplicate"`
}

// jobJSON is one job in jobs list/show/cancel/retry's documents.
type jobJSON struct {
	ID          int64          `json:"id"`
	State       string         `json:"state"`
	Pipeline    string         `json:"pipeline"`
	Flow        string         `json:"flow"`
	File        string         `json:"file"`
	Tick        string         `json:"tick,omitempty"`
	Attempt     int            `json:"attempt"`
	MaxAttempts int            `json:"max_attempts"`
	Worker      string         `json:"worker"`
	Workers     []string       `json:"workers"`
	CreatedAt   time.Time      `json:"created_at"`
	FinishedAt  *time.Time     `json:"finished_at,omitempty"`
	LastError   string         `json:"last_error,omitempty"`
	Errors      []jobErrorJSON `json:"errors"`
}

type jobErrorJSON struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

func newJobJSON(j *rivertype.JobRow) jobJSON {
	var a jobs.FlowArgs
	_ = json.Unmarshal(j.EncodedArgs, &a)
	out := jobJSON{ID: j.ID, State: string(j.State), Pipeline: a.Pipeline, Flow: a.Flow, File: a.File, Tick: a.Tick,
		Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Workers: nonNil(j.AttemptedBy), CreatedAt: j.CreatedAt,
		FinishedAt: j.FinalizedAt, Errors: []jobErrorJSON{}}
	if n := len(j.AttemptedBy); n > 0 {
		out.Worker = j.AttemptedBy[n-1]
	}
	for _, e := range j.Errors {
		out.Errors = append(out.Errors, jobErrorJSON{Attempt: e.Attempt, At: e.At, Error: e.Error})
	}
	if n := len(j.Errors); n > 0 {
		out.LastError = j.Errors[n-1].Error
	}
	return out
}

type jobListJSON struct {
	Version int       `json:"version"`
	Command string    `json:"command"`
	Jobs    []jobJSON `json:"jobs"`
}

type jobDocJSON struct {
	Version int     `json:"version"`
	Command string  `json:"command"`
	Job     jobJSON `json:"job"`
}

type scheduleJSON struct {
	Pipeline string    `json:"pipeline"`
	Flow     string    `json:"flow"`
	Schedule string    `json:"schedule"`
	LastTick time.Time `json:"last_tick,omitzero"`
	Skipped  int64     `json:"skipped_ticks"`
}

type scheduleListJSON struct {
	Version   int            `json:"version"`
	Command   string         `json:"command"`
	Schedules []scheduleJSON `json:"schedules"`
}

type scheduleRegisterJSON struct {
	Version    int            `json:"version"`
	Command    string         `json:"command"`
	Pipeline   string         `json:"pipeline"`
	Registered []scheduleJSON `json:"registered"`
	Removed    []string       `json:"removed"`
}
