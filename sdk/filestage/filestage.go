// Package filestage owns the local-file conventions that file connectors
// (csv, parquet) share: expanding a source path or glob into a sorted file
// list and naming its stream, resolving a write's target file inside a
// destination directory, and the staged, idempotent, crash-safe write
// protocol that makes a write visible only on commit.
//
// # Staging
//
// A staged write lives in a hidden directory beside its target:
//
//	<dir>/.sqlflow-staging-<flow>-<writeid>/
//	    manifest.json              flow, write id, target, mode, state
//	    part-00000000000000000007  one file per WriteBatch seq
//	    commit.data                the final file, built by CommitWrite
//	                               (or built as the batches came, in a file of
//	                               the connector's own, and moved here by
//	                               [Area.CommitFile])
//
// Each part is written to a temporary name, synced and renamed, so a part
// either exists whole or not at all; a seq whose part exists is skipped,
// which makes WriteBatch idempotent across plugin restarts. Commit builds
// the final file inside the staging directory, records the plan in the
// manifest (state "committing"), renames the file over the target (an
// atomic step on one file system) and then records state "committed" and
// drops the data, keeping only the manifest so that a repeated commit
// returns nil. A later [Begin] for the same flow removes every other
// staging directory of that flow, committed or left by a killed host.
package filestage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// StagingPrefix starts the name of every staging directory. Files and
// directories whose names start with a dot are ignored by [Expand].
const StagingPrefix = ".sqlflow-staging-"

const (
	manifestName = "manifest.json"
	commitName   = "commit.data"
	partPrefix   = "part-"
)

// State is the progress of a staged write, as recorded in its manifest.
type State string

const (
	// StateStaged is a write that accepts batches.
	StateStaged State = "staged"
	// StateCommitting is a write whose final file is built and whose plan
	// is recorded; the rename over the target may or may not have happened.
	StateCommitting State = "committing"
	// StateCommitted is a write whose data is visible in the target.
	StateCommitted State = "committed"
)

// Manifest describes one staged write. It is stored as JSON in the staging
// directory, so that a fresh plugin process can finish a commit it never
// began.
type Manifest struct {
	// Flow and WriteID come from the sdk.WriteRequest.
	Flow    string `json:"flow"`
	WriteID string `json:"write_id"`
	// Target is the base name of the target file inside the directory.
	Target string `json:"target"`
	// Mode is the write mode ("replace", "append").
	Mode string `json:"mode"`
	// Schema is the write's Arrow schema as IPC bytes.
	Schema []byte `json:"schema,omitempty"`
	// State is the write's progress.
	State State `json:"state"`
	// Final is the base name the committed file gets; set by Commit.
	Final string `json:"final,omitempty"`
	// Remove lists base names Commit deletes after the rename (files the
	// new data replaces); set by Commit.
	Remove []string `json:"remove,omitempty"`
	// Rows is the number of rows committed, as reported by the plan.
	Rows int64 `json:"rows,omitempty"`
}

// Area is one staged write's directory.
type Area struct {
	// Dir is the directory holding the target (and the staging directory).
	Dir string
	// Path is the staging directory.
	Path string
	// Manifest is the write's manifest as last stored.
	Manifest Manifest
}

// Plan is what a commit's build step decided: the file that appears and
// the files it makes obsolete.
type Plan struct {
	// Final is the base name, inside Area.Dir, the built file is renamed to.
	Final string
	// Remove lists base names inside Area.Dir to delete after the rename;
	// missing ones are ignored.
	Remove []string
	// Rows is the number of rows of the write (reported, not checked).
	Rows int64
}

// Part is one staged batch.
type Part struct {
	// Seq is the WriteBatch sequence number.
	Seq int64
	// Path is the part file.
	Path string
}

// safeName keeps letters, digits, '.', '_' and '-' and replaces any other
// byte with '_', so a flow or write id can appear in a file name.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}

// ioErr classifies a file system error: a missing file or a permission
// problem is PERMANENT (a retry cannot fix it), anything else (EIO, a full
// disk, a stale NFS handle) is TRANSIENT.
func ioErr(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EROFS) {
		return errclass.Permanentf("%s: %w", msg, err)
	}
	return errclass.Transientf("%s: %w", msg, err)
}

// IOError classifies a file system error the way the staging code does: a
// missing file, a permission problem, a read-only file system or a
// directory where a file was expected is PERMANENT; anything else (EIO, a
// full disk) is TRANSIENT. The message is "<what>: <err>".
func IOError(err error, what string) error { return ioErr(err, "%s", what) }

// Begin opens the staging area of m.WriteID in dir, creating dir and the
// area when needed, and removes every other staging directory in dir that
// belongs to m.Flow. Calling it again with the same write id reopens the
// area with what it already holds (parts, state). m.State is ignored.
func Begin(dir string, m Manifest) (*Area, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, FileError(err, "create directory", dir)
	}
	areas, err := list(dir)
	if err != nil {
		return nil, err
	}
	var found *Area
	for _, a := range areas {
		switch {
		case a.Manifest.WriteID == m.WriteID:
			found = a
		case a.Manifest.Flow == m.Flow:
			if err := os.RemoveAll(a.Path); err != nil {
				return nil, ioErr(err, "remove old staging %q", a.Path)
			}
		}
	}
	// Half-created staging of the same flow (a process killed between
	// creating the directory and renaming it into place) has no manifest
	// to list it by; its name says whose it is.
	if tmps, err := filepath.Glob(filepath.Join(dir, StagingPrefix+safeName(m.Flow)+"-*.tmp")); err == nil {
		for _, t := range tmps {
			_ = os.RemoveAll(t)
		}
	}
	if found != nil {
		return found, nil
	}
	m.State = StateStaged
	m.Final, m.Remove, m.Rows = "", nil, 0
	path := filepath.Join(dir, StagingPrefix+safeName(m.Flow)+"-"+safeName(m.WriteID))
	if _, err := os.Stat(path); err == nil {
		// Same safe name, another write id: keep both apart.
		path += "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	tmp := path + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, ioErr(err, "create staging %q", tmp)
	}
	a := &Area{Dir: dir, Path: tmp, Manifest: m}
	if err := a.save(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, ioErr(err, "create staging %q", path)
	}
	a.Path = path
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return a, nil
}

// Find returns the staging area of writeID in dir, or nil when there is
// none (never begun, aborted, or cleaned by a later write of its flow).
func Find(dir, writeID string) (*Area, error) {
	areas, err := list(dir)
	if err != nil {
		return nil, err
	}
	for _, a := range areas {
		if a.Manifest.WriteID == writeID {
			return a, nil
		}
	}
	return nil, nil
}

// list reads every staging directory of dir that has a manifest.
func list(dir string) ([]*Area, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, FileError(err, "list directory", dir)
	}
	var out []*Area
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), StagingPrefix) || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(filepath.Join(p, manifestName))
		if err != nil {
			continue
		}
		var m Manifest
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		out = append(out, &Area{Dir: dir, Path: p, Manifest: m})
	}
	return out, nil
}

// save stores the manifest atomically.
func (a *Area) save() error {
	data, err := json.MarshalIndent(a.Manifest, "", "  ")
	if err != nil {
		return errclass.Permanentf("encode staging manifest: %w", err)
	}
	return writeAtomic(filepath.Join(a.Path, manifestName), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic writes path through a synced temporary file and a rename.
func writeAtomic(path string, write func(w io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return ioErr(err, "create %q", tmp)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return ioErr(err, "sync %q", tmp)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return ioErr(err, "close %q", tmp)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return ioErr(err, "rename %q", tmp)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes renames inside dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return FileError(err, "open directory", dir)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return ioErr(err, "sync directory %q", dir)
	}
	return nil
}

func (a *Area) partPath(seq int64) string {
	return filepath.Join(a.Path, fmt.Sprintf("%s%020d", partPrefix, seq))
}

// WritePart stores batch seq by calling write with a fresh file, then
// syncing and renaming it into place. When the part already exists it does
// nothing and reports false: a replayed seq is never stored twice. It
// fails with a PERMANENT error once the write is committing or committed.
func (a *Area) WritePart(seq int64, write func(w io.Writer) error) (bool, error) {
	if a.Manifest.State != StateStaged {
		return false, errclass.Permanentf("write %q is %s; it takes no more batches (seq %d)", a.Manifest.WriteID, a.Manifest.State, seq)
	}
	if seq < 0 {
		return false, errclass.Permanentf("write %q: invalid batch seq %d", a.Manifest.WriteID, seq)
	}
	p := a.partPath(seq)
	if _, err := os.Stat(p); err == nil {
		return false, nil
	}
	if err := writeAtomic(p, write); err != nil {
		return false, err
	}
	return true, nil
}

// Parts lists the stored parts in seq order.
func (a *Area) Parts() ([]Part, error) {
	entries, err := os.ReadDir(a.Path)
	if err != nil {
		return nil, ioErr(err, "list staging %q", a.Path)
	}
	var parts []Part
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, partPrefix) || strings.HasSuffix(name, ".tmp") {
			continue
		}
		seq, err := strconv.ParseInt(strings.TrimPrefix(name, partPrefix), 10, 64)
		if err != nil {
			continue
		}
		parts = append(parts, Part{Seq: seq, Path: filepath.Join(a.Path, name)})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Seq < parts[j].Seq })
	return parts, nil
}

// Commit makes the write visible. When the write is still staged, build
// writes the complete final file to w and returns the plan; the file is
// synced and the plan recorded before anything in Dir changes. Then the
// built file is renamed to Plan.Final, the files in Plan.Remove are
// deleted and the write is marked committed (its parts are dropped).
//
// Commit is idempotent and crash-safe: called again, in any process, after
// it failed or was interrupted, it resumes from the recorded state without
// calling build again; called after it succeeded, it returns nil.
func (a *Area) Commit(build func(w io.Writer) (Plan, error)) error {
	if a.Manifest.State == StateCommitted {
		return nil
	}
	if a.Manifest.State == StateStaged {
		var plan Plan
		err := writeAtomic(filepath.Join(a.Path, commitName), func(w io.Writer) error {
			var err error
			plan, err = build(w)
			return err
		})
		if err != nil {
			return err
		}
		if err := a.recordPlan(plan); err != nil {
			return err
		}
	}
	return a.finish()
}

// CommitFile is [Area.Commit] for a final file the caller has already
// built inside the staging directory (a file written as the batches
// arrived, not at commit): when the write is still staged, it syncs the
// file at path, moves it to the area's commit file and records plan;
// then, as Commit does, it renames the file to plan.Final, removes
// plan.Remove and marks the write committed (its parts are dropped).
//
// path must name a file directly inside a.Path. Like Commit it is
// idempotent and crash-safe: once the plan is recorded, a repeated call in
// any process ignores path and plan and resumes from the recorded state;
// after success it returns nil. A crash before the plan is recorded
// leaves the write staged with its parts, from which the caller rebuilds
// the file.
func (a *Area) CommitFile(path string, plan Plan) error {
	if a.Manifest.State == StateCommitted {
		return nil
	}
	if a.Manifest.State == StateStaged {
		if filepath.Dir(path) != filepath.Clean(a.Path) {
			return errclass.Permanentf("commit of write %q: built file %q is not inside the staging directory %q", a.Manifest.WriteID, path, a.Path)
		}
		if err := syncFile(path); err != nil {
			return err
		}
		if err := os.Rename(path, filepath.Join(a.Path, commitName)); err != nil {
			return ioErr(err, "commit write %q: move the built file into place", a.Manifest.WriteID)
		}
		if err := syncDir(a.Path); err != nil {
			return err
		}
		if err := a.recordPlan(plan); err != nil {
			return err
		}
	}
	return a.finish()
}

// syncFile makes the data of the file at path durable.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return ioErr(err, "open %q", path)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return ioErr(err, "sync %q", path)
	}
	if err := f.Close(); err != nil {
		return ioErr(err, "close %q", path)
	}
	return nil
}

// recordPlan checks plan and stores it in the manifest with state
// committing.
func (a *Area) recordPlan(plan Plan) error {
	if plan.Final == "" || strings.ContainsAny(plan.Final, `/\`) {
		return errclass.Permanentf("commit of write %q: invalid final name %q", a.Manifest.WriteID, plan.Final)
	}
	a.Manifest.State = StateCommitting
	a.Manifest.Final = plan.Final
	a.Manifest.Remove = plan.Remove
	a.Manifest.Rows = plan.Rows
	return a.save()
}

// finish applies a recorded plan: the rename over the target, the
// removals, state committed, the parts dropped. It is safe to repeat.
func (a *Area) finish() error {
	data := filepath.Join(a.Path, commitName)
	if _, err := os.Stat(data); err == nil {
		if err := os.Rename(data, filepath.Join(a.Dir, a.Manifest.Final)); err != nil {
			return ioErr(cause(err), "commit write %q: rename into %s", a.Manifest.WriteID, Show(a.Dir))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return ioErr(err, "commit write %q", a.Manifest.WriteID)
	}
	for _, name := range a.Manifest.Remove {
		if name == a.Manifest.Final {
			continue
		}
		if err := os.Remove(filepath.Join(a.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ioErr(err, "commit write %q: remove replaced file", a.Manifest.WriteID)
		}
	}
	if err := syncDir(a.Dir); err != nil {
		return err
	}
	a.Manifest.State = StateCommitted
	if err := a.save(); err != nil {
		return err
	}
	parts, err := a.Parts()
	if err == nil {
		for _, p := range parts {
			os.Remove(p.Path)
		}
	}
	return nil
}

// CommitUnchanged marks a write committed without changing anything in
// Dir: the commit of a write that has nothing to apply (an append begun
// without a schema, for an empty stream). Like [Area.Commit] it is
// idempotent; it fails with a PERMANENT error when batches were staged,
// since those would be lost.
func (a *Area) CommitUnchanged() error {
	if a.Manifest.State == StateCommitted {
		return nil
	}
	parts, err := a.Parts()
	if err != nil {
		return err
	}
	if len(parts) > 0 {
		return errclass.Permanentf("commit of write %q: %d staged batches, but the write was begun to change nothing", a.Manifest.WriteID, len(parts))
	}
	a.Manifest.State = StateCommitted
	return a.save()
}

// Abort removes the staging area. The target is not touched.
func (a *Area) Abort() error {
	if err := os.RemoveAll(a.Path); err != nil {
		return ioErr(err, "remove staging %q", a.Path)
	}
	return nil
}
