package s3conn

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// The visibility convention (docs/connectors/s3.md): a dataset lives under
// <path_prefix>/<target>/; its current objects are exactly those its
// _SUCCESS manifest names, and the manifest is written last.
const (
	manifestName = "_SUCCESS"
	stagingDir   = ".sqlflow-staging"
	writeInfoObj = "write.json"
)

// manifest is the _SUCCESS object of a dataset. Schema, the Arrow IPC
// schema of the write that committed it (base64 in JSON), keeps the
// dataset's columns known when it holds no rows; manifests written before
// it existed have none.
type manifest struct {
	WriteID     string   `json:"write_id"`
	Format      string   `json:"format"`
	CommittedAt string   `json:"committed_at"`
	Files       []string `json:"files"`
	Schema      []byte   `json:"schema,omitempty"`
}

// writeInfo is a staged write, stored as write.json in its staging prefix so
// that a fresh plugin process can continue or commit it. A write without a
// schema (Schema empty) is an append that changes nothing.
type writeInfo struct {
	Flow      string `json:"flow"`
	WriteID   string `json:"write_id"`
	Target    string `json:"target"`
	Mode      string `json:"mode"`
	Format    string `json:"format"`
	Schema    []byte `json:"schema"`
	Committed bool   `json:"committed,omitempty"`

	staging string
	schema  *arrow.Schema

	mu sync.Mutex
	// uploads are the batches' multipart uploads this process knows, by seq.
	uploads map[int64]*upload
	// resumed: another process began the write (this one was restarted):
	// a batch sent again may already have an upload on the server.
	resumed bool
	// rows are the rows of each batch stored by this process, by seq (a
	// replayed seq carries the same rows); the commit report counts them
	// when it knows every batch of the write.
	rows map[int64]int64
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// safe makes a host-chosen name usable as one key segment.
func safe(s string) string {
	return strings.NewReplacer("/", "_", "\\", "_").Replace(s)
}

func readManifest(ctx context.Context, cli *client, key string) (*manifest, error) {
	b, err := cli.readAll(ctx, key)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errclass.Permanentf("%s is not a sqlflow manifest: %v", cli.url(key), err)
	}
	return &m, nil
}

// destFormat is the format written: file_format, else the target's
// extension, else parquet.
func destFormat(cfg config, target string) string {
	if cfg.Format != "auto" {
		return cfg.Format
	}
	if f := formatOf(target); f != "" {
		return f
	}
	return "parquet"
}

// dataName is the dataset object of a write's batch seq.
func dataName(writeID string, seq int64, format string) string {
	return fmt.Sprintf("part-%s-%020d%s", safe(writeID), seq, extOf(format))
}

// ownObject reports whether rel, a name directly under a dataset, is a
// data object of writeID (as dataName names them): not one of a write
// whose id merely starts with writeID and "-".
func ownObject(rel, writeID string) bool {
	rest, ok := strings.CutPrefix(rel, "part-"+safe(writeID)+"-")
	if !ok || len(rest) < 20 || strings.ContainsAny(rest[20:], "-/") {
		return false
	}
	for _, c := range rest[:20] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (w *writeInfo) dataKey(cfg config, seq int64) string {
	return join(cfg.Prefix, w.Target) + "/" + dataName(w.WriteID, seq, w.Format)
}

func (w *writeInfo) markerKey(seq int64) string {
	return fmt.Sprintf("%s%s%020d", w.staging, markerPrefix, seq)
}

// markedSeqs returns the seqs of the batch markers among keys, in order.
func markedSeqs(staging string, keys []string) []int64 {
	var seqs []int64
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, staging+markerPrefix)
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil {
			seqs = append(seqs, n)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs
}

// decodeWrite reads a write.json object.
func decodeWrite(ctx context.Context, cli *client, key string) (*writeInfo, error) {
	b, err := cli.readAll(ctx, key)
	if err != nil {
		return nil, err
	}
	w := &writeInfo{uploads: map[int64]*upload{}, resumed: true}
	if err := json.Unmarshal(b, w); err != nil {
		return nil, errclass.Permanentf("%s is not a sqlflow write record: %v", cli.url(key), err)
	}
	if w.schema, err = arrowipc.DecodeSchema(w.Schema); err != nil {
		return nil, errclass.Permanentf("%s: %v", cli.url(key), err)
	}
	w.staging = strings.TrimSuffix(key, writeInfoObj)
	return w, nil
}

// BeginWrite makes CheckWrite's checks, records the write in its staging
// prefix and cleans what earlier writes of the same flow left (a killed
// host): their multipart uploads are aborted, data objects a dead commit
// completed but no manifest names are deleted, and their staging prefixes
// are removed. Called again
// for the same write (after a plugin restart), it keeps the write.
//
// Without a schema (an empty stream whose columns the source does not
// know), a replace keeps the dataset's columns (see datasetSchema); a
// dataset that does not exist is then a PERMANENT error, and nothing is
// written. An append without a schema changes nothing.
func (c *Connector) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	ctx, cancel := beforeDeadline(ctx)
	defer cancel()
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	target, err := checkWrite(cfg, cli, req)
	if err != nil {
		return err
	}
	format := destFormat(cfg, target)
	arrowSchema := req.Schema
	if arrowSchema == nil && req.Mode == sdk.ModeReplace {
		if arrowSchema, err = datasetSchema(ctx, cfg, cli, target, format); err != nil {
			return err
		}
	}
	if format == "parquet" && arrowSchema != nil && arrowSchema.NumFields() > 0 {
		if _, err := pqarrow.ToParquet(arrowSchema, nil, pqarrow.DefaultWriterProps()); err != nil {
			return errclass.Permanentf("the schema cannot be written as Parquet: %v", err)
		}
	}
	schema, err := arrowipc.EncodeSchema(arrowSchema)
	if err != nil {
		return errclass.Permanentf("encode the schema: %v", err)
	}
	flowDir := join(cfg.Prefix, stagingDir, safe(req.Flow)) + "/"
	w := &writeInfo{
		Flow: req.Flow, WriteID: req.WriteID, Target: target, Mode: string(req.Mode), Format: format, Schema: schema,
		staging: flowDir + safe(req.WriteID) + "/", schema: arrowSchema, uploads: map[int64]*upload{},
	}
	old, err := cli.list(ctx, flowDir)
	if err != nil {
		return err
	}
	stale := map[string][]string{} // staging prefix of an earlier write → its keys
	var stalePrefixes []string
	exists := false
	for _, o := range old {
		if strings.HasPrefix(o.Key, w.staging) {
			exists = exists || o.Key == w.staging+writeInfoObj
			continue
		}
		dir := o.Key
		if i := strings.Index(strings.TrimPrefix(o.Key, flowDir), "/"); i >= 0 {
			dir = o.Key[:len(flowDir)+i+1]
		}
		if _, ok := stale[dir]; !ok {
			stalePrefixes = append(stalePrefixes, dir)
		}
		stale[dir] = append(stale[dir], o.Key)
	}
	for _, dir := range stalePrefixes {
		if err := c.dropStaged(ctx, cfg, cli, dir, stale[dir]); err != nil {
			return err
		}
	}
	c.mu.Lock()
	known := c.writes[req.WriteID]
	c.mu.Unlock()
	if known != nil && exists {
		return nil // BeginWrite again in the same process
	}
	if exists {
		// A restarted plugin: the write was begun by an earlier process.
		prev, err := decodeWrite(ctx, cli, w.staging+writeInfoObj)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.writes[req.WriteID] = prev
		c.mu.Unlock()
		return nil
	}
	b, _ := json.Marshal(w)
	if err := cli.put(ctx, w.staging+writeInfoObj, b); err != nil {
		return err
	}
	c.mu.Lock()
	c.writes[req.WriteID] = w
	c.mu.Unlock()
	return nil
}

// dropStaged removes the staging prefix dir of an earlier write (keys are
// its objects) with whatever that write left in S3 when it never committed.
func (c *Connector) dropStaged(ctx context.Context, cfg config, cli *client, dir string, keys []string) error {
	if slices.Contains(keys, dir+writeInfoObj) {
		w, err := decodeWrite(ctx, cli, dir+writeInfoObj)
		if err != nil {
			return err
		}
		if !w.Committed {
			c.logger.Info("cleaning an earlier write of the flow that never committed", "flow", w.Flow, "write_id", w.WriteID)
			if err := c.dropWrite(ctx, cfg, cli, w, keys); err != nil {
				return err
			}
		}
	}
	return cli.deleteKeys(ctx, keys)
}

// dropWrite aborts the multipart uploads of an uncommitted write (its
// staging holds keys) and deletes its data objects that the dataset's
// manifest does not name (completed by a commit that died before the
// manifest). The staging prefix itself is left to the caller.
func (c *Connector) dropWrite(ctx context.Context, cfg config, cli *client, w *writeInfo, keys []string) error {
	seqs := markedSeqs(w.staging, keys)
	w.mu.Lock()
	ids := map[int64]string{}
	for seq, up := range w.uploads {
		if up.id != "" {
			ids[seq] = up.id
		}
		if !slices.Contains(seqs, seq) {
			seqs = append(seqs, seq)
		}
	}
	w.mu.Unlock()
	err := parallel(ctx, len(seqs), commitConcurrency, func(ctx context.Context, i int) error {
		key := w.dataKey(cfg, seqs[i])
		ups, err := cli.uploads(ctx, key)
		if err != nil {
			return err
		}
		found := false
		for _, u := range ups {
			found = found || aws.ToString(u.UploadId) == ids[seqs[i]]
			if err := cli.abortUpload(ctx, key, aws.ToString(u.UploadId)); err != nil {
				return err
			}
		}
		if id := ids[seqs[i]]; id != "" && !found {
			return cli.abortUpload(ctx, key, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	dir := join(cfg.Prefix, w.Target) + "/"
	objs, err := cli.list(ctx, dir+"part-"+safe(w.WriteID)+"-")
	if err != nil || len(objs) == 0 {
		return err
	}
	cur, err := currentManifest(ctx, cli, dir)
	if err != nil {
		return err
	}
	named := map[string]bool{}
	if cur != nil {
		for _, f := range cur.Files {
			named[dir+f] = true
		}
	}
	var drop []string
	for _, o := range objs {
		if !named[o.Key] && ownObject(strings.TrimPrefix(o.Key, dir), w.WriteID) {
			drop = append(drop, o.Key)
		}
	}
	return cli.deleteKeys(ctx, drop)
}

// currentManifest reads the _SUCCESS manifest of the dataset under dir; nil
// when there is none.
func currentManifest(ctx context.Context, cli *client, dir string) (*manifest, error) {
	objs, err := cli.list(ctx, dir+manifestName)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.Key == dir+manifestName {
			return readManifest(ctx, cli, o.Key)
		}
	}
	return nil, nil
}

// findWrite returns the staged write writeID, from memory or, in a fresh
// process, from its write.json; nil when there is none.
func (c *Connector) findWrite(ctx context.Context, cfg config, cli *client, writeID string) (*writeInfo, error) {
	c.mu.Lock()
	w := c.writes[writeID]
	c.mu.Unlock()
	if w != nil {
		return w, nil
	}
	objs, err := cli.list(ctx, join(cfg.Prefix, stagingDir)+"/")
	if err != nil {
		return nil, err
	}
	suffix := "/" + safe(writeID) + "/" + writeInfoObj
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, suffix) {
			continue
		}
		if w, err = decodeWrite(ctx, cli, o.Key); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.writes[writeID] = w
		c.mu.Unlock()
		return w, nil
	}
	return nil, nil
}

// errUploadGone is wrapped in the TRANSIENT error of a part upload whose
// multipart upload the server no longer knows; the batch's next attempt
// starts a new upload. Test with errors.Is.
var errUploadGone = errors.New("the multipart upload is gone")

// WriteBatch encodes the batch as one data object of the dataset,
// <dataset>/part-<write id>-<seq>.<ext>, streamed into a multipart upload
// of that key (parts of 16 MiB uploaded as they fill, up to 4 at once) and
// completed before it returns: the batch is durable, and named by no
// manifest until CommitWrite. The same seq sent again reuses the upload
// when it was not completed (a retried part overwrites itself), else
// uploads the same bytes again over the object: the batch is stored once.
// Completing here, while the batch is in hand, makes every failure of the
// completion recoverable by sending the batch again. A completion whose
// reply was lost (the server completed it) is no failure: the object its
// parts make is found by HeadObject, in the same call or, when that fails
// too, before the batch sent again uploads anything.
func (c *Connector) WriteBatch(ctx context.Context, writeID string, seq int64, rec arrow.RecordBatch) (err error) {
	ctx, cancel := beforeDeadline(ctx)
	defer cancel()
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	w, err := c.findWrite(ctx, cfg, cli, writeID)
	if err != nil {
		return err
	}
	if w == nil || w.Committed {
		return errclass.Permanentf("write %q is not open: BeginWrite first", writeID)
	}
	if w.schema == nil {
		return errclass.Permanentf("write %q was begun without a schema (it changes nothing) and takes no batches (batch %d)", writeID, seq)
	}
	defer func() {
		if err == nil {
			w.mu.Lock()
			if w.rows == nil {
				w.rows = map[int64]int64{}
			}
			w.rows[seq] = rec.NumRows()
			w.mu.Unlock()
		}
	}()
	key := w.dataKey(cfg, seq)
	// An earlier attempt's completion may have succeeded on the server
	// with its reply lost: then the batch is in place already.
	if done, err := c.completedEarlier(ctx, cli, w, seq, key); err != nil || done {
		return err
	}
	// Open the upload (marker, then create or find it) while encoding.
	ready := make(chan struct{})
	var id string
	var idErr error
	go func() {
		defer close(ready)
		id, idErr = c.openUpload(ctx, cli, w, seq, key)
	}()
	pw := newPartWriter(ctx, cli, key, func() (string, error) { <-ready; return id, idErr })
	if err := encodeTo(pw, cfg, w.Format, w.schema, rec); err != nil {
		pw.abort()
		<-ready
		if idErr != nil && !errclass.Is(err, errclass.Permanent) {
			return idErr // the encoder stopped because a part failed
		}
		return err
	}
	parts, err := pw.close()
	<-ready
	size := pw.size
	if err == nil {
		var gone bool
		gone, err = cli.completeUpload(ctx, key, id, parts)
		if err != nil || gone {
			// The server may have completed the upload all the same: a
			// reply lost on the way (a reset, a timeout), or an earlier
			// completion whose reply was lost (NoSuchUpload). Its object,
			// made of these parts, says so; finding it is no failure.
			found, herr := completedAs(ctx, cli, key, parts, size)
			switch {
			case found:
				err, gone = nil, false
			case err != nil:
				// Not known to be there: the next attempt looks again
				// before it uploads anything.
				w.mu.Lock()
				if up := w.uploads[seq]; up != nil && up.id == id {
					up.pending, up.pendingSize = parts, size
				}
				w.mu.Unlock()
			case herr != nil:
				err, gone = herr, false
				w.mu.Lock()
				if up := w.uploads[seq]; up != nil && up.id == id {
					up.pending, up.pendingSize = parts, size
				}
				w.mu.Unlock()
			}
		}
		if err == nil && gone {
			// A completion interrupted half-way (MinIO drops the parts'
			// metadata before it renames them) or an upload that vanished:
			// start again with a new upload.
			_ = cli.abortUpload(ctx, key, id)
			err = errclass.Transientf("complete the multipart upload of %s: %w; the batch is uploaded again", cli.url(key), errUploadGone)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.Is(err, errUploadGone) {
		if up := w.uploads[seq]; up != nil && up.id == id {
			up.id, up.suspect = "", true
		}
	}
	if err != nil {
		return err
	}
	if up := w.uploads[seq]; up != nil && up.id == id {
		up.parts, up.completed = parts, true
	}
	return nil
}

// completedEarlier reports whether an earlier attempt of batch seq, whose
// completion's outcome it never learnt (a reply lost), completed the
// upload after all: the object at key is the one its parts make. Then
// the batch is recorded as completed and nothing is uploaded again. Not
// found, the batch goes on with the same upload (still open, or gone: then
// a new one).
func (c *Connector) completedEarlier(ctx context.Context, cli *client, w *writeInfo, seq int64, key string) (bool, error) {
	w.mu.Lock()
	up := w.uploads[seq]
	var parts []types.CompletedPart
	var size int64
	if up != nil && !up.completed {
		parts, size = up.pending, up.pendingSize
	}
	w.mu.Unlock()
	if parts == nil {
		return false, nil
	}
	found, err := completedAs(ctx, cli, key, parts, size)
	if err != nil {
		return false, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	up.pending = nil
	if found {
		c.logger.Debug("the batch's upload was completed by an earlier attempt whose reply was lost", "key", key)
		up.parts, up.completed = parts, true
	}
	return found, nil
}

// openUpload returns the multipart upload of batch seq: the one this
// process opened for it, else (after a restart) the one the server holds
// for key, else a new one, created after the batch's marker is stored.
func (c *Connector) openUpload(ctx context.Context, cli *client, w *writeInfo, seq int64, key string) (string, error) {
	w.mu.Lock()
	up, probe := w.uploads[seq], w.resumed
	w.mu.Unlock()
	if up != nil && up.id != "" && !up.completed {
		return up.id, nil
	}
	if err := cli.put(ctx, w.markerKey(seq), nil); err != nil {
		return "", err
	}
	remember := func(id string, suspect bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if prev := w.uploads[seq]; prev != nil {
			suspect = suspect || prev.suspect
		}
		w.uploads[seq] = &upload{key: key, id: id, suspect: suspect}
	}
	if probe || (up != nil && up.suspect) {
		ups, err := cli.uploads(ctx, key)
		if err != nil {
			return "", err
		}
		if n := len(ups); n > 0 {
			id := aws.ToString(ups[n-1].UploadId)
			remember(id, n > 1)
			return id, nil
		}
	}
	id, err := cli.createUpload(ctx, key)
	if err != nil {
		remember("", true) // the server may have created it anyway
		return "", err
	}
	remember(id, false)
	return id, nil
}

// encodeTo writes rec to out as a whole csv, jsonl or parquet object.
func encodeTo(out io.Writer, cfg config, format string, schema *arrow.Schema, rec arrow.RecordBatch) error {
	switch format {
	case "csv":
		if s, r, made := csvText(schema, rec); made {
			defer r.Release()
			schema, rec = s, r
		}
		w := arrowcsv.NewWriter(out, schema, arrowcsv.WithComma(cfg.Delimiter), arrowcsv.WithHeader(cfg.Header), arrowcsv.WithNullWriter(""))
		if err := w.Write(rec); err != nil {
			return encodeErr("csv", err)
		}
		if err := w.Flush(); err != nil {
			return encodeErr("csv", err)
		}
	case "jsonl":
		if _, r, made := decimalsAsText(schema, rec); made {
			defer r.Release()
			rec = r
		}
		bw := bufio.NewWriterSize(out, 1<<20)
		if err := array.RecordToJSON(rec, bw); err != nil {
			return encodeErr("jsonl", err)
		}
		if err := bw.Flush(); err != nil {
			return encodeErr("jsonl", err)
		}
	default:
		// zstd at its fastest level (about a third less CPU than the
		// default level here, for slightly larger objects); dictionaries
		// capped at 256 KiB, so a column of unique values (ids) falls back
		// to plain encoding after 32 Ki values instead of 128 Ki: the
		// wasted hashing halved the encoder's CPU time on the benchmark's
		// orders (BenchmarkDestinationInProcess).
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(1),
			parquet.WithDictionaryPageSizeLimit(256<<10), parquet.WithMaxRowGroupLength(1<<20))
		fw, err := pqarrow.NewFileWriter(schema, out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			return encodeErr("parquet", err)
		}
		if err := fw.Write(rec); err != nil {
			fw.Close()
			return encodeErr("parquet", err)
		}
		if err := fw.Close(); err != nil {
			return encodeErr("parquet", err)
		}
	}
	return nil
}

// encodeErr keeps a part upload's classified error (the writer stopped
// because the upload failed) and makes any other encoding error PERMANENT.
func encodeErr(format string, err error) error {
	var ce *errclass.Error
	if errors.As(err, &ce) {
		return err
	}
	return errclass.Permanentf("write %s: %v", format, err)
}

// CommitWrite aborts any multipart upload of the write that a retried
// create or a dead process left beside the completed one, writes the
// dataset's _SUCCESS manifest naming the write's data objects (the moment
// the write becomes visible), then deletes the objects no manifest names
// (replace: the old dataset) and the write's markers. A replace of no
// batches writes one data object of the write's schema and no rows, so the
// dataset keeps its columns; a write begun without a schema in append mode
// changes nothing. Every step is idempotent, so a commit interrupted
// anywhere can be repeated, by this process or a fresh one; repeated after
// write.json recorded it, it finishes deleting the markers.
func (c *Connector) CommitWrite(ctx context.Context, writeID string, _ []byte) error {
	ctx, cancel := beforeDeadline(ctx)
	defer cancel()
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	w, err := c.findWrite(ctx, cfg, cli, writeID)
	if err != nil {
		return err
	}
	if w == nil {
		return errclass.Permanentf("write %q is unknown: nothing was staged for it under %s", writeID, cli.url(join(cfg.Prefix, stagingDir)))
	}
	if w.Committed {
		// Committed, but its cleanup may have failed (a reset on the
		// DeleteObjects of the markers, a plugin killed after write.json
		// was written): the commit is complete only when its markers are
		// gone, so a repeated commit finishes it.
		return cli.deletePrefix(ctx, w.staging+markerPrefix)
	}
	if w.schema == nil {
		return c.markCommitted(ctx, cli, w)
	}
	dir := join(cfg.Prefix, w.Target) + "/"
	objs, err := cli.list(ctx, dir)
	if err != nil {
		return err
	}
	var cur *manifest
	for _, o := range objs {
		if o.Key == dir+manifestName {
			if cur, err = readManifest(ctx, cli, o.Key); err != nil {
				return err
			}
		}
	}
	if cur == nil || cur.WriteID != writeID {
		if err := c.abortStrays(ctx, cfg, cli, w); err != nil {
			return err
		}
		next := &manifest{WriteID: writeID, Format: w.Format, CommittedAt: time.Now().UTC().Format(time.RFC3339Nano), Schema: w.Schema}
		if w.Mode == string(sdk.ModeAppend) && cur != nil {
			next.Files = append(next.Files, cur.Files...)
		}
		var written []string
		for _, o := range objs { // in key order, so in seq order
			if rel := strings.TrimPrefix(o.Key, dir); ownObject(rel, writeID) {
				written = append(written, rel)
			}
		}
		if len(written) == 0 && w.Mode == string(sdk.ModeReplace) && w.schema.NumFields() > 0 {
			// No batch: the dataset keeps its columns in an object of no
			// rows, named as batch 0 (batches start at 1).
			data, err := emptyObject(cfg, w.Format, w.schema)
			if err != nil {
				return err
			}
			if err := cli.put(ctx, w.dataKey(cfg, 0), data); err != nil {
				return err
			}
			written = append(written, dataName(writeID, 0, w.Format))
		}
		next.Files = append(next.Files, written...)
		b, _ := json.MarshalIndent(next, "", "  ")
		if err := cli.put(ctx, dir+manifestName, b); err != nil {
			return err
		}
		cur = next
	}
	// The new dataset is visible: delete what its manifest does not name.
	keep := map[string]bool{dir + manifestName: true}
	for _, f := range cur.Files {
		keep[dir+f] = true
	}
	var drop []string
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, dir)
		if !keep[o.Key] && !strings.Contains(rel, "/") {
			drop = append(drop, o.Key)
		}
	}
	if err := cli.deleteKeys(ctx, drop); err != nil {
		return err
	}
	return c.markCommitted(ctx, cli, w)
}

// CommitReport names the committed dataset (its prefix, as an s3:// URI
// ending in /) and its manifest, and the rows the write committed when
// this process stored or saw every one of its batches (not after a
// restart). A write begun without a schema reports nothing.
func (c *Connector) CommitReport(writeID string) map[string]string {
	cfg, cli, err := c.state()
	if err != nil {
		return nil
	}
	c.mu.Lock()
	w := c.writes[writeID]
	c.mu.Unlock()
	if w == nil || !w.Committed || w.schema == nil {
		return nil
	}
	dir := join(cfg.Prefix, w.Target) + "/"
	out := map[string]string{sdk.ReportLocation: cli.url(dir), sdk.ReportManifest: cli.url(dir + manifestName)}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.resumed {
		var rows int64
		for _, n := range w.rows {
			rows += n
		}
		out[sdk.ReportRows] = strconv.FormatInt(rows, 10)
	}
	return out
}

var _ sdk.CommitReporter = (*Connector)(nil)

// markCommitted records in write.json that w is committed, so a repeated
// commit returns nil, and deletes its batch markers.
func (c *Connector) markCommitted(ctx context.Context, cli *client, w *writeInfo) error {
	w.Committed = true
	b, _ := json.Marshal(w)
	if err := cli.put(ctx, w.staging+writeInfoObj, b); err != nil {
		return err
	}
	return cli.deletePrefix(ctx, w.staging+markerPrefix)
}

// abortStrays aborts the incomplete multipart uploads of a write's marked
// batches, except where this process created the batch's only upload and
// completed it (then none is left): after a restart, or a create whose
// answer was lost, the server may hold uploads this process never saw.
func (c *Connector) abortStrays(ctx context.Context, cfg config, cli *client, w *writeInfo) error {
	markers, err := cli.list(ctx, w.staging+markerPrefix)
	if err != nil {
		return err
	}
	keys := make([]string, len(markers))
	for i, m := range markers {
		keys[i] = m.Key
	}
	var check []int64
	w.mu.Lock()
	for _, seq := range markedSeqs(w.staging, keys) {
		if up := w.uploads[seq]; up == nil || !up.completed || up.suspect {
			check = append(check, seq)
		}
	}
	w.mu.Unlock()
	return parallel(ctx, len(check), commitConcurrency, func(ctx context.Context, i int) error {
		key := w.dataKey(cfg, check[i])
		ups, err := cli.uploads(ctx, key)
		if err != nil {
			return err
		}
		for _, u := range ups {
			if err := cli.abortUpload(ctx, key, aws.ToString(u.UploadId)); err != nil {
				return err
			}
		}
		return nil
	})
}

// AbortWrite aborts the write's multipart uploads, deletes any data object
// of it that no manifest names, and deletes its staging prefix; the dataset
// is untouched.
func (c *Connector) AbortWrite(ctx context.Context, writeID string) error {
	ctx, cancel := beforeDeadline(ctx)
	defer cancel()
	cfg, cli, err := c.state()
	if err != nil {
		return err
	}
	w, err := c.findWrite(ctx, cfg, cli, writeID)
	if err != nil || w == nil {
		return err
	}
	if w.Committed {
		return nil
	}
	objs, err := cli.list(ctx, w.staging)
	if err != nil {
		return err
	}
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	if err := c.dropWrite(ctx, cfg, cli, w, keys); err != nil {
		return err
	}
	if err := cli.deleteKeys(ctx, keys); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.writes, writeID)
	c.mu.Unlock()
	return nil
}
