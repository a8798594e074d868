package sdktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// Sizes of the kit's writes: batchesPerWrite batches of batchRows rows.
const (
	batchesPerWrite = 3
	batchRows       = 40
	// largeRows rows of largeStrLen-byte strings make one batch of about
	// 6 MiB, half again gRPC's 4 MiB default cap.
	largeRows   = 24
	largeStrLen = 256 << 10
)

// flowName is the WriteRequest.Flow of every write of the kit.
const flowName = "sdktest-conformance"

// dest is one destination subtest's view: the plugin, the write mode and
// the schema.
type dest struct {
	r      *runner
	t      *testing.T
	ctx    context.Context
	mode   sdk.WriteMode
	schema *arrow.Schema
}

func (r *runner) dest(t *testing.T) *dest {
	ctx := r.context(t)
	d := &dest{r: r, t: t, ctx: ctx, schema: Schema(r.cfg.Destination.Columns)}
	p := Start(t, r.cfg.Binary)
	defer p.Close()
	spec, err := p.Client.Spec(ctx)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	d.mode = r.cfg.Destination.Mode
	if d.mode == "" {
		d.mode = sdk.ModeAppend
		if slices.Contains(spec.WriteModes, sdk.ModeReplace) {
			d.mode = sdk.ModeReplace
		}
	}
	if d.mode != sdk.ModeReplace && d.mode != sdk.ModeAppend {
		t.Fatalf("DestinationConfig.Mode is %q; the kit writes in replace or append mode", d.mode)
	}
	if !d.canRead() && d.mode != sdk.ModeReplace {
		t.Fatalf("DestinationConfig.ReadTarget is nil and the mode is %s: without a read-back the kit can check a commit only in replace mode", d.mode)
	}
	if !slices.Contains(spec.WriteModes, d.mode) {
		t.Fatalf("the kit writes in %s mode but Spec.WriteModes is %v", d.mode, spec.WriteModes)
	}
	return d
}

// start starts and configures a new plugin process.
func (d *dest) start() *Plugin {
	p := Start(d.t, d.r.cfg.Binary)
	configure(d.ctx, d.t, p, d.r.cfg.Destination.Config)
	return p
}

func (d *dest) request(name string) sdk.WriteRequest {
	return sdk.WriteRequest{
		WriteID: fmt.Sprintf("sdktest-%s-%s", d.r.runID, name),
		Flow:    flowName,
		Target:  d.r.cfg.Destination.Target,
		Schema:  d.schema,
		Mode:    d.mode,
	}
}

// canRead reports whether the test can read the target back.
func (d *dest) canRead() bool { return d.r.cfg.Destination.ReadTarget != nil }

// read returns what the target holds; a zero Sum when it cannot be read.
func (d *dest) read(when string) rowhash.Sum {
	d.t.Helper()
	if !d.canRead() {
		return rowhash.Sum{}
	}
	s, err := d.r.cfg.Destination.ReadTarget(d.ctx, d.schema)
	if err != nil {
		d.t.Fatalf("ReadTarget %s: %v", when, err)
	}
	return s
}

// want is what the target must hold after committing written onto before.
func (d *dest) want(before, written rowhash.Sum) rowhash.Sum {
	if d.mode == sdk.ModeReplace {
		return written
	}
	before.Merge(written)
	return before
}

func (d *dest) batches(first int64, n, rows int, opt genOptions) ([]batch, rowhash.Sum) {
	d.t.Helper()
	bs, total, err := encodeBatches(d.schema, first, n, rows, opt)
	if err != nil {
		d.t.Fatalf("generate batches: %v", err)
	}
	return bs, total
}

func (d *dest) begin(p *Plugin, req sdk.WriteRequest) {
	d.t.Helper()
	if err := p.Client.BeginWrite(d.ctx, req); err != nil {
		d.t.Fatalf("BeginWrite(%s, target %q, %s): %v", req.WriteID, req.Target, req.Mode, err)
	}
}

func (d *dest) write(p *Plugin, req sdk.WriteRequest, seq int64, b batch, what string) {
	d.t.Helper()
	if err := p.Client.WriteBatch(d.ctx, req.WriteID, seq, b.data); err != nil {
		d.t.Fatalf("WriteBatch(%s, seq %d)%s: %v", req.WriteID, seq, what, err)
	}
}

func (d *dest) commit(p *Plugin, req sdk.WriteRequest, what string) map[string]string {
	d.t.Helper()
	report, err := p.Client.CommitWrite(d.ctx, req.WriteID, nil)
	if err != nil {
		d.t.Fatalf("CommitWrite(%s)%s: %v", req.WriteID, what, err)
	}
	return report
}

// checkTarget compares the target with want after a commit, or, when the
// target cannot be read, the commit's report with the write's rows.
func (d *dest) checkTarget(report map[string]string, before, written rowhash.Sum, what string) {
	d.t.Helper()
	if !d.canRead() {
		d.checkReport(report, written, what)
		return
	}
	want := d.want(before, written)
	if got := d.read(what); got != want {
		d.t.Errorf("%s the target holds %v; want %v (%s mode: %v before, %v written once): rows were %s",
			what, got, want, d.mode, before, written, lostOrRepeated(got.Rows, want.Rows))
	}
}

// checkReport compares CommitWrite's report with the rows written.
func (d *dest) checkReport(report map[string]string, written rowhash.Sum, what string) {
	d.t.Helper()
	rows, ok := report["rows"]
	if !ok {
		d.t.Errorf("%s: ReadTarget is nil and CommitWrite's report has no \"rows\" (report %v): nothing to check the write against", what, report)
		return
	}
	n, err := strconv.ParseInt(rows, 10, 64)
	if err != nil || n != written.Rows {
		d.t.Errorf("%s CommitWrite reports rows=%q; want %d (the rows written once)", what, rows, written.Rows)
	}
	if sum, ok := report["checksum"]; ok {
		if !strings.EqualFold(sum, fmt.Sprintf("%016x", written.Hash)) && sum != strconv.FormatUint(written.Hash, 10) {
			d.t.Errorf("%s CommitWrite reports checksum=%q; want %016x (the rowhash of the rows written once)", what, sum, written.Hash)
		}
	}
}

// testDestStaged: staged rows stay invisible until the commit, a replayed
// seq is stored once, BeginWrite and CommitWrite may be repeated.
func (r *runner) testDestStaged(t *testing.T) {
	d := r.dest(t)
	p := d.start()
	before := d.read("before the write")
	req := d.request("staged")
	d.begin(p, req)
	d.begin(p, req) // BeginWrite again with the same write id is harmless.
	bs, written := d.batches(1000, batchesPerWrite, batchRows, genOptions{})
	for i, b := range bs {
		d.write(p, req, int64(i+1), b, "")
	}
	d.write(p, req, 2, bs[1], " replayed with the same bytes")
	if d.canRead() {
		if got := d.read("before CommitWrite"); got != before {
			d.t.Errorf("before CommitWrite the target holds %v; it held %v before the write: staged rows are visible before the commit", got, before)
		}
	}
	report := d.commit(p, req, "")
	d.checkTarget(report, before, written, "after WriteBatch seq 1..3, seq 2 again and CommitWrite,")
	if _, err := p.Client.CommitWrite(d.ctx, req.WriteID, nil); err != nil {
		t.Errorf("CommitWrite repeated after it succeeded: %v; want nil", err)
	}
	if d.canRead() {
		d.checkTarget(nil, before, written, "after a repeated CommitWrite,")
	}
}

// testDestAbort: AbortWrite leaves the target as it was, and is idempotent.
func (r *runner) testDestAbort(t *testing.T) {
	d := r.dest(t)
	p := d.start()
	// Commit something first, so "as it was" is not just "empty".
	seedBefore := d.read("before the seed write")
	seed := d.request("abort-seed")
	d.begin(p, seed)
	bs, seeded := d.batches(2000, 2, batchRows, genOptions{})
	for i, b := range bs {
		d.write(p, seed, int64(i+1), b, " (seed write)")
	}
	d.checkTarget(d.commit(p, seed, " (seed write)"), seedBefore, seeded, "after the seed write,")

	before := d.read("before the aborted write")
	req := d.request("abort")
	d.begin(p, req)
	bs, _ = d.batches(3000, 2, batchRows, genOptions{})
	for i, b := range bs {
		d.write(p, req, int64(i+1), b, "")
	}
	if err := p.Client.AbortWrite(d.ctx, req.WriteID); err != nil {
		t.Fatalf("AbortWrite(%s): %v", req.WriteID, err)
	}
	if d.canRead() {
		if got := d.read("after AbortWrite"); got != before {
			t.Errorf("after AbortWrite the target holds %v; it held %v before the write", got, before)
		}
	} else {
		t.Log("ReadTarget is nil: that the target is unchanged after AbortWrite is not checked")
	}
	if err := p.Client.AbortWrite(d.ctx, req.WriteID); err != nil {
		t.Errorf("AbortWrite repeated: %v; want nil", err)
	}
	if err := p.Client.AbortWrite(d.ctx, d.request("never-begun").WriteID); err != nil {
		t.Errorf("AbortWrite of a write id never begun: %v; want nil", err)
	}
}

// testDestRestart: a plugin killed after WriteBatch, then a new process
// that begins the same write, replays every batch with its seq and commits:
// the target holds each row once.
func (r *runner) testDestRestart(t *testing.T) {
	d := r.dest(t)
	first := d.start()
	before := d.read("before the write")
	req := d.request("restart")
	d.begin(first, req)
	bs, written := d.batches(4000, batchesPerWrite, batchRows, genOptions{})
	for i, b := range bs {
		d.write(first, req, int64(i+1), b, " (first process)")
	}
	first.Kill()

	second := d.start()
	d.begin(second, req)
	if d.canRead() {
		if got := d.read("after the kill, before the commit"); got != before {
			t.Errorf("after the plugin was killed mid-write the target holds %v; it held %v before the write", got, before)
		}
	}
	for i, b := range bs {
		d.write(second, req, int64(i+1), b, " replayed in a new process")
	}
	report := d.commit(second, req, " in a new process")
	d.checkTarget(report, before, written, "after a kill, a new process, every seq replayed and CommitWrite,")
}

// testDestLarge: one batch over gRPC's 4 MiB default goes through.
func (r *runner) testDestLarge(t *testing.T) {
	d := r.dest(t)
	if d.schema.FieldIndices(ColumnString.String()) == nil {
		t.Skip("DestinationConfig.Columns has no ColumnString to make a large batch of")
	}
	p := d.start()
	before := d.read("before the write")
	req := d.request("large")
	d.begin(p, req)
	bs, written := d.batches(5000, 1, largeRows, genOptions{strLen: largeStrLen})
	if len(bs[0].data) <= grpcDefaultMax {
		t.Fatalf("internal: the large batch is only %d bytes", len(bs[0].data))
	}
	d.write(p, req, 1, bs[0], fmt.Sprintf(" of %.1f MiB", float64(len(bs[0].data))/(1<<20)))
	d.checkTarget(d.commit(p, req, ""), before, written, "after a batch over 4 MiB,")
}

// testDestNulls: nulls in every nullable column, and rows of nothing but
// nulls, read back as nulls.
func (r *runner) testDestNulls(t *testing.T) {
	d := r.dest(t)
	p := d.start()
	before := d.read("before the write")
	req := d.request("nulls")
	d.begin(p, req)
	scattered, s1 := d.batches(6000, 1, batchRows, genOptions{})
	allNull, s2 := d.batches(7000, 1, 5, genOptions{allNull: true})
	d.write(p, req, 1, scattered[0], " (scattered nulls)")
	d.write(p, req, 2, allNull[0], " (all-null rows)")
	written := s1
	written.Merge(s2)
	d.checkTarget(d.commit(p, req, ""), before, written, "after writing nulls,")
}

// testDestReplaceWithoutSchema: the write of an empty stream whose columns
// the source does not know. A replace without a schema and without
// batches empties the target and keeps it (so it can be emptied so again),
// its commit may be repeated, and into a target that does not exist it
// fails PERMANENT.
func (r *runner) testDestReplaceWithoutSchema(t *testing.T) {
	d := r.dest(t)
	if d.mode != sdk.ModeReplace {
		t.Skipf("the kit writes in %s mode; a replace without a schema needs replace", d.mode)
	}
	p := d.start()
	// Commit rows first, so "emptied" means something.
	seedBefore := d.read("before the seed write")
	seed := d.request("no-schema-seed")
	d.begin(p, seed)
	bs, seeded := d.batches(8000, 2, batchRows, genOptions{})
	for i, b := range bs {
		d.write(p, seed, int64(i+1), b, " (seed write)")
	}
	d.checkTarget(d.commit(p, seed, " (seed write)"), seedBefore, seeded, "after the seed write,")

	for _, name := range []string{"no-schema", "no-schema-again"} {
		before := d.read("before the replace without a schema")
		req := d.request(name)
		req.Schema = nil
		if err := p.Client.BeginWrite(d.ctx, req); err != nil {
			t.Fatalf("BeginWrite(%s) of a replace without a schema into the existing target %q: %v; want nil (the target is emptied and keeps its columns)", req.WriteID, req.Target, err)
		}
		if d.canRead() {
			if got := d.read("before CommitWrite"); got != before {
				t.Errorf("before CommitWrite of a replace without a schema the target holds %v; it held %v", got, before)
			}
		}
		report := d.commit(p, req, " of a replace without a schema")
		d.checkTarget(report, before, rowhash.Sum{}, "after "+req.WriteID+", a replace without a schema and without batches,")
		if _, err := p.Client.CommitWrite(d.ctx, req.WriteID, nil); err != nil {
			t.Errorf("CommitWrite(%s) repeated after it succeeded: %v; want nil", req.WriteID, err)
		}
	}

	missing := d.r.cfg.Destination.MissingTarget
	if missing == "" {
		t.Log("DestinationConfig.MissingTarget is empty: a replace without a schema into a target that does not exist is not checked")
		return
	}
	req := d.request("no-schema-missing")
	req.Schema, req.Target = nil, missing
	err := p.Client.BeginWrite(d.ctx, req)
	if err == nil {
		// The refusal may come at the commit instead.
		_, err = p.Client.CommitWrite(d.ctx, req.WriteID, nil)
		if aerr := p.Client.AbortWrite(d.ctx, req.WriteID); aerr != nil {
			t.Errorf("AbortWrite(%s): %v", req.WriteID, aerr)
		}
	}
	if errclass.Of(err) != errclass.Permanent {
		t.Errorf("a replace without a schema into the target %q, which does not exist: %v (class %v); want a PERMANENT error saying the target does not exist and no schema is known",
			missing, err, errclass.Of(err))
	} else {
		t.Logf("a replace without a schema into a missing target: %v", err)
	}
}

// unknownMode is a write mode no destination has: CheckWrite must refuse
// it.
const unknownMode sdk.WriteMode = "sqlflow-conformance-no-such-mode"

// testDestCheckWrite: a destination that implements sdk.WriteChecker
// accepts the kit's write (without write id or schema, as validate sends
// it), names the same resolved target (or none) on a second call, refuses
// an unknown mode PERMANENT, and changes nothing the kit can read.
func (r *runner) testDestCheckWrite(t *testing.T) {
	d := r.dest(t)
	p := d.start()
	req := d.request("check")
	req.WriteID, req.Schema = "", nil
	probe, err := p.Client.CheckWrite(d.ctx, req)
	if errors.Is(err, rpcclient.ErrNotImplemented) {
		t.Skip("the destination does not implement sdk.WriteChecker")
	}
	if err != nil {
		t.Fatalf("CheckWrite(target %q, %s) of the write the kit makes: %v", req.Target, req.Mode, err)
	}
	if d.canRead() {
		// Commit something first, so "unchanged" is not just "empty".
		seedBefore := d.read("before the seed write")
		seed := d.request("check-seed")
		d.begin(p, seed)
		bs, seeded := d.batches(8000, 1, batchRows, genOptions{})
		d.write(p, seed, 1, bs[0], " (seed write)")
		d.checkTarget(d.commit(p, seed, " (seed write)"), seedBefore, seeded, "after the seed write,")
	}
	before := d.read("before CheckWrite")
	for i := range 2 {
		got, err := p.Client.CheckWrite(d.ctx, req)
		if err != nil {
			t.Fatalf("CheckWrite repeated: %v", err)
		}
		if got != probe {
			t.Errorf("CheckWrite resolved the target to %q, then (call %d) to %q; one write must resolve to one string (or \"\" every time)", probe, i+2, got)
		}
	}
	bad := req
	bad.Mode = unknownMode
	if _, err := p.Client.CheckWrite(d.ctx, bad); err == nil || !errclass.Is(err, errclass.Permanent) {
		t.Errorf("CheckWrite with mode %q: %v; want a PERMANENT error", bad.Mode, err)
	}
	if d.canRead() {
		if got := d.read("after CheckWrite"); got != before {
			t.Errorf("after CheckWrite the target holds %v; it held %v before: CheckWrite must have no side effect", got, before)
		}
	} else {
		t.Log("ReadTarget is nil: that CheckWrite leaves the target unchanged is not checked")
	}
}
