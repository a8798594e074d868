package sdktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// runner holds what every subtest of one Run shares.
type runner struct {
	cfg   Config
	runID string
}

// Run is the conformance suite: it starts the plugin binary cfg.Binary over
// real go-plugin (a new process wherever a test needs one) and runs these
// subtests of t, in this order:
//
//   - spec: the Spec is well-formed (see the doc of the subtest's checks in
//     the package documentation).
//   - configure/bad_configs and configure/unknown_key: bad configurations
//     get field errors, never a plain error.
//   - source/check_discover, source/resume and source/large_page.
//   - destination/staged_invisible_replay_once, destination/abort,
//     destination/restart_after_kill, destination/large_batch,
//     destination/nulls and destination/check_write.
//
// A role whose config is nil is skipped. Each subtest is bounded by
// cfg.Timeout. Run reports failures through t and does not stop at the
// first failing subtest.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if cfg.Binary == "" {
		t.Fatal("sdktest: Config.Binary is empty; build the plugin with sdktest.BuildPlugin")
	}
	r := &runner{cfg: cfg, runID: newRunID()}
	t.Run("spec", r.testSpec)
	t.Run("configure", func(t *testing.T) {
		t.Run("bad_configs", r.testBadConfigs)
		t.Run("unknown_key", r.testUnknownKey)
	})
	t.Run("source", func(t *testing.T) {
		if cfg.Source == nil {
			t.Skip("Config.Source is nil")
		}
		t.Run("check_discover", r.testSourceCheckDiscover)
		t.Run("resume", r.testSourceResume)
		t.Run("large_page", r.testSourceLargePage)
	})
	t.Run("destination", func(t *testing.T) {
		if cfg.Destination == nil {
			t.Skip("Config.Destination is nil")
		}
		if cfg.Destination.ReadTarget == nil {
			t.Log("DestinationConfig.ReadTarget is nil: only CommitWrite's report is checked; visibility before commit and abort are not")
		}
		t.Run("staged_invisible_replay_once", r.testDestStaged)
		t.Run("abort", r.testDestAbort)
		t.Run("restart_after_kill", r.testDestRestart)
		t.Run("large_batch", r.testDestLarge)
		t.Run("nulls", r.testDestNulls)
		t.Run("replace_without_schema", r.testDestReplaceWithoutSchema)
		t.Run("check_write", r.testDestCheckWrite)
	})
}

func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *runner) context(t *testing.T) context.Context {
	timeout := r.cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// configure sends a config the test calls valid and fails t unless the
// plugin accepts it.
func configure(ctx context.Context, t testing.TB, p *Plugin, config json.RawMessage) {
	t.Helper()
	ferrs, err := p.Client.Configure(ctx, config)
	if err != nil {
		t.Fatalf("Configure(%s): %v", config, err)
	}
	if len(ferrs) > 0 {
		t.Fatalf("Configure(%s) refused a config the test calls valid: %s", config, fieldErrors(ferrs))
	}
}

func fieldErrors(ferrs []sdk.FieldError) string {
	parts := make([]string, len(ferrs))
	for i, fe := range ferrs {
		parts[i] = fmt.Sprintf("%q", fe.Error())
	}
	return strings.Join(parts, ", ")
}

// ---- spec -------------------------------------------------------------

func (r *runner) testSpec(t *testing.T) {
	ctx := r.context(t)
	p := Start(t, r.cfg.Binary)
	spec, err := p.Client.Spec(ctx)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}

	base := strings.TrimSuffix(filepath.Base(r.cfg.Binary), ".exe")
	switch {
	case spec.Name == "":
		t.Errorf("Spec.Name is empty")
	case base != BinaryPrefix+spec.Name:
		t.Errorf("Spec.Name is %q but the binary is named %q; the host finds a connector of type %q as %s%s",
			spec.Name, base, spec.Name, BinaryPrefix, spec.Name)
	}
	if spec.ProtocolVersion != sdk.ProtocolVersion {
		t.Errorf("Spec.ProtocolVersion is %d, want %d (sdk.ProtocolVersion)", spec.ProtocolVersion, sdk.ProtocolVersion)
	}
	if !spec.Source && !spec.Destination {
		t.Errorf("Spec has no role: neither Source nor Destination")
	}
	if spec.Source && r.cfg.Source == nil {
		t.Errorf("the plugin is a source but Config.Source is nil, so its source role goes untested")
	}
	if spec.Destination && r.cfg.Destination == nil {
		t.Errorf("the plugin is a destination but Config.Destination is nil, so its destination role goes untested")
	}
	if !spec.Source && r.cfg.Source != nil {
		t.Errorf("Config.Source is set but the Spec says the plugin is not a source")
	}
	if !spec.Destination && r.cfg.Destination != nil {
		t.Errorf("Config.Destination is set but the Spec says the plugin is not a destination")
	}

	var schema map[string]any
	if len(bytes.TrimSpace(spec.ConfigSchema)) == 0 {
		t.Errorf("Spec.ConfigSchema is empty; want a JSON Schema object")
	} else if err := json.Unmarshal(spec.ConfigSchema, &schema); err != nil {
		t.Errorf("Spec.ConfigSchema is not a JSON object: %v", err)
	} else {
		checkSchema(t, spec.ConfigSchema, r.cfg)
	}

	switch spec.ResilienceClass {
	case sdk.ResilienceNetwork, sdk.ResilienceFile, sdk.ResilienceNone:
	default:
		t.Errorf("Spec.ResilienceClass is %q; want network, file or none", spec.ResilienceClass)
	}

	if spec.Destination {
		if len(spec.WriteModes) == 0 {
			t.Errorf("Spec.WriteModes is empty for a destination")
		}
		seen := map[sdk.WriteMode]bool{}
		for _, m := range spec.WriteModes {
			switch m {
			case sdk.ModeReplace, sdk.ModeAppend, sdk.ModeUpsert:
			default:
				t.Errorf("Spec.WriteModes holds %q; want replace, append or upsert", m)
			}
			if seen[m] {
				t.Errorf("Spec.WriteModes lists %q twice", m)
			}
			seen[m] = true
		}
		if seen[sdk.ModeUpsert] != spec.Upsert {
			t.Errorf("Spec.Upsert is %v but WriteModes %v upsert", spec.Upsert, map[bool]string{true: "lists", false: "does not list"}[seen[sdk.ModeUpsert]])
		}
	} else if len(spec.WriteModes) > 0 {
		t.Errorf("Spec.WriteModes is %v but the plugin is not a destination", spec.WriteModes)
	}

	// The spec must not depend on configuration.
	if config := r.validConfig(); config != nil {
		configure(ctx, t, p, config)
		again, err := p.Client.Spec(ctx)
		if err != nil {
			t.Fatalf("Spec after Configure: %v", err)
		}
		if !reflect.DeepEqual(normalizeSpec(spec), normalizeSpec(again)) {
			t.Errorf("Spec changed after Configure:\nbefore %+v\nafter  %+v", spec, again)
		}
	}
}

func normalizeSpec(s sdk.Spec) sdk.Spec {
	if len(s.WriteModes) == 0 {
		s.WriteModes = nil
	}
	if len(s.ConfigSchema) == 0 {
		s.ConfigSchema = nil
	}
	return s
}

// validConfig returns a config the test calls valid: the source's, else
// the destination's, else nil.
func (r *runner) validConfig() json.RawMessage {
	if r.cfg.Source != nil {
		return r.cfg.Source.Config
	}
	if r.cfg.Destination != nil {
		return r.cfg.Destination.Config
	}
	return nil
}

// ---- configure ----------------------------------------------------------

func (r *runner) testBadConfigs(t *testing.T) {
	if len(r.cfg.BadConfigs) == 0 {
		t.Skip("Config.BadConfigs is empty")
	}
	ctx := r.context(t)
	p := Start(t, r.cfg.Binary)
	for i, bc := range r.cfg.BadConfigs {
		name := bc.Name
		if name == "" {
			name = fmt.Sprintf("case_%d", i+1)
		}
		t.Run(name, func(t *testing.T) {
			ferrs, err := p.Client.Configure(ctx, bc.Config)
			if err != nil {
				t.Fatalf("Configure(%s) returned an error instead of field errors: %v", bc.Config, err)
			}
			if len(ferrs) == 0 {
				t.Fatalf("Configure(%s) accepted a bad config: want at least one field error", bc.Config)
			}
			if bc.Field != "" && !namesField(ferrs, bc.Field) {
				t.Errorf("Configure(%s): no field error names %q; got %s", bc.Config, bc.Field, fieldErrors(ferrs))
			}
		})
	}
}

// namesField reports whether one of ferrs is about field or a path below it.
func namesField(ferrs []sdk.FieldError, field string) bool {
	for _, fe := range ferrs {
		if fe.Field == field || strings.HasPrefix(fe.Field, field+".") || strings.HasPrefix(fe.Field, field+"[") {
			return true
		}
	}
	return false
}

// unknownKey is the key the unknown-key test adds to a valid config.
const unknownKey = "sqlflow_conformance_unknown_key"

func (r *runner) testUnknownKey(t *testing.T) {
	base := r.validConfig()
	if base == nil {
		t.Skip("neither Config.Source nor Config.Destination gives a valid config to add an unknown key to")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(base, &obj); err != nil || obj == nil {
		t.Fatalf("the valid config is not a JSON object: %s", base)
	}
	obj[unknownKey] = json.RawMessage(`true`)
	config, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	ctx := r.context(t)
	p := Start(t, r.cfg.Binary)
	ferrs, err := p.Client.Configure(ctx, config)
	if err != nil {
		t.Fatalf("Configure with an unknown key returned an error instead of a field error: %v", err)
	}
	if !namesField(ferrs, unknownKey) {
		t.Errorf("Configure accepted the unknown key %q without a field error naming it (a misspelt key must not be ignored silently); field errors: [%s]",
			unknownKey, fieldErrors(ferrs))
	}
}

// ---- source ----------------------------------------------------------------

func (r *runner) readRequest() sdk.ReadRequest {
	s := r.cfg.Source
	return sdk.ReadRequest{Stream: s.Stream, MaxRows: s.MaxRows, MaxBytes: s.MaxBytes}
}

func (r *runner) testSourceCheckDiscover(t *testing.T) {
	ctx := r.context(t)
	p := Start(t, r.cfg.Binary)
	configure(ctx, t, p, r.cfg.Source.Config)
	configure(ctx, t, p, r.cfg.Source.Config) // Configure may be called again at any time.
	if err := p.Client.Check(ctx); err != nil {
		t.Errorf("Check with the source config: %v", err)
	}
	streams, err := p.Client.Discover(ctx)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	var names []string
	for _, s := range streams {
		names = append(names, s.Name)
		if s.EstimatedRows < 0 {
			t.Errorf("Discover: stream %q has EstimatedRows %d; an estimate is 0 (unknown) or positive", s.Name, s.EstimatedRows)
		}
		if s.Name == r.cfg.Source.Stream {
			t.Logf("stream %q: EstimatedRows %d", s.Name, s.EstimatedRows)
			if want := r.cfg.Source.EstimatedRows; want != 0 && s.EstimatedRows != want {
				t.Errorf("Discover: stream %q has EstimatedRows %d, want %d", s.Name, s.EstimatedRows, want)
			}
		}
	}
	if len(streams) > 0 && !slices.Contains(names, r.cfg.Source.Stream) {
		t.Errorf("Discover lists %q but not the stream %q the test reads", names, r.cfg.Source.Stream)
	}
}

func (r *runner) testSourceResume(t *testing.T) {
	ctx := r.context(t)
	src := r.cfg.Source
	p := Start(t, r.cfg.Binary)
	configure(ctx, t, p, src.Config)
	full, pages, err := ReadAll(ctx, p.Client, r.readRequest())
	if err != nil {
		t.Fatalf("full read: %v", err)
	}
	p.Close()
	t.Logf("full read of %q: %d pages, %v", src.Stream, len(pages), full)

	withRows := 0
	for i, pg := range pages {
		if pg.Rows.Rows > 0 {
			withRows++
		}
		if src.MaxRows > 0 && pg.Rows.Rows > src.MaxRows {
			t.Errorf("page %d has %d rows, more than MaxRows %d", i+1, pg.Rows.Rows, src.MaxRows)
		}
		if pg.Schema != nil && pages[0].Schema != nil && !pg.Schema.Equal(pages[0].Schema) {
			t.Errorf("page %d's schema differs from page 1's:\npage 1: %v\npage %d: %v", i+1, pages[0].Schema, i+1, pg.Schema)
		}
	}
	if withRows < 2 {
		t.Fatalf("the stream gave %d page(s) with rows; the resume test needs at least 2: give the fixture more rows or set a smaller SourceConfig.MaxRows", withRows)
	}

	var candidates []int
	for i, pg := range pages {
		if len(pg.Checkpoint) > 0 {
			candidates = append(candidates, i)
		}
	}
	maxResumes := src.MaxResumes
	if maxResumes <= 0 {
		maxResumes = DefaultMaxResumes
	}
	for _, i := range sample(candidates, maxResumes) {
		t.Run(fmt.Sprintf("after_page_%d", i+1), func(t *testing.T) {
			r.resumeAfter(ctx, t, pages, i, full)
		})
	}
}

// resumeAfter starts a new process, reads page i's checkpoint twice, then
// reads on to the end and checks nothing was lost or repeated.
func (r *runner) resumeAfter(ctx context.Context, t *testing.T, pages []Page, i int, full rowhash.Sum) {
	q := Start(t, r.cfg.Binary)
	defer q.Close()
	configure(ctx, t, q, r.cfg.Source.Config)
	req := r.readRequest()
	req.Checkpoint = pages[i].Checkpoint

	var twice [2]Page
	for k := range twice {
		wire, err := q.Client.ReadPage(ctx, req)
		if err != nil {
			t.Fatalf("ReadPage(checkpoint after page %d = %q) in a new process (read %d): %v", i+1, req.Checkpoint, k+1, err)
		}
		pg, err := decodePage(wire)
		if err != nil {
			t.Fatalf("ReadPage(checkpoint after page %d = %q) in a new process (read %d): %v", i+1, req.Checkpoint, k+1, err)
		}
		twice[k] = pg
	}
	if twice[0].Rows != twice[1].Rows || twice[0].Done != twice[1].Done || !bytes.Equal(twice[0].Checkpoint, twice[1].Checkpoint) {
		t.Errorf("the same checkpoint (after page %d) read twice gave different pages: %v (done %v, next %q), then %v (done %v, next %q)",
			i+1, twice[0].Rows, twice[0].Done, twice[0].Checkpoint, twice[1].Rows, twice[1].Done, twice[1].Checkpoint)
	}
	if i+1 < len(pages) {
		want := pages[i+1]
		if twice[0].Rows != want.Rows || twice[0].Done != want.Done {
			t.Errorf("the checkpoint after page %d gave page %d as %v (done %v) in the first process but %v (done %v) in a new one",
				i+1, i+2, want.Rows, want.Done, twice[0].Rows, twice[0].Done)
		}
	} else if twice[0].Rows.Rows != 0 || !twice[0].Done {
		t.Errorf("the checkpoint of the last page gave %v (done %v) in a new process; want no rows and done", twice[0].Rows, twice[0].Done)
	}

	rest, _, err := ReadAll(ctx, q.Client, req)
	if err != nil {
		t.Fatalf("resumed read after page %d: %v", i+1, err)
	}
	got := pages[i].Through
	got.Merge(rest)
	if got != full {
		t.Errorf("pages 1..%d (%v) + a read resumed from their checkpoint in a new process (%v) = %v; the full read gave %v: rows were %s",
			i+1, pages[i].Through, rest, got, full, lostOrRepeated(got.Rows, full.Rows))
	}
}

func lostOrRepeated(got, want int64) string {
	switch {
	case got < want:
		return fmt.Sprintf("lost (%d missing)", want-got)
	case got > want:
		return fmt.Sprintf("repeated (%d extra)", got-want)
	default:
		return "changed (same count, different rows)"
	}
}

// sample returns at most n elements of xs, evenly spread, always including
// the first and the last.
func sample(xs []int, n int) []int {
	if len(xs) <= n {
		return xs
	}
	if n == 1 {
		return xs[:1]
	}
	out := make([]int, 0, n)
	for k := range n {
		idx := k * (len(xs) - 1) / (n - 1)
		if len(out) == 0 || out[len(out)-1] != xs[idx] {
			out = append(out, xs[idx])
		}
	}
	return out
}

func (r *runner) testSourceLargePage(t *testing.T) {
	large := r.cfg.Source.LargeStream
	if large == nil {
		t.Skip("SourceConfig.LargeStream is nil: the source's pages over 4 MiB are not tested")
	}
	config := large.Config
	if config == nil {
		config = r.cfg.Source.Config
	}
	ctx := r.context(t)
	p := Start(t, r.cfg.Binary)
	configure(ctx, t, p, config)
	total, pages, err := ReadAll(ctx, p.Client, sdk.ReadRequest{Stream: large.Stream, MaxBytes: LargeReadMaxBytes})
	if err != nil {
		t.Fatalf("read of %q with MaxBytes %d: %v", large.Stream, LargeReadMaxBytes, err)
	}
	biggest := 0
	for _, pg := range pages {
		biggest = max(biggest, pg.Bytes)
	}
	if biggest <= grpcDefaultMax {
		t.Errorf("the largest page of %q is %d bytes, not over 4 MiB: the LargeStream fixture does not cross gRPC's default cap", large.Stream, biggest)
	}
	t.Logf("read %v in %d pages; the largest is %.1f MiB", total, len(pages), float64(biggest)/(1<<20))
}
