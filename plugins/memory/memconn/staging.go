package memconn

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// Durable staging (the staging_dir key). Each write's batches are kept in
// <staging_dir>/<flow>--<write id>/<seq>.arrow (written to a temp file,
// fsynced, renamed), so a plugin process started after a crash finds, at
// BeginWrite of the same write id, every batch the dead one acknowledged.
// A committed write leaves only a "committed" marker, so a commit repeated
// by a new process after a lost reply is a no-op rather than an empty
// table. The next BeginWrite of the same flow removes every other
// directory of that flow: leftovers of a killed host.

const committedMarker = "committed"

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func stageDir(root, flow, writeID string) string {
	return filepath.Join(root, unsafeName.ReplaceAllString(flow, "_")+"--"+unsafeName.ReplaceAllString(writeID, "_"))
}

// cleanFlow removes the staging directories of flow other than keep.
func cleanFlow(root, flow, keep string) {
	prefix := unsafeName.ReplaceAllString(flow, "_") + "--"
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		p := filepath.Join(root, e.Name())
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) && p != keep {
			os.RemoveAll(p)
		}
	}
}

// loadStage reads the batches a previous process staged in dir. It reports
// committed when dir holds the committed marker.
func loadStage(dir string) (batches map[int64]arrow.RecordBatch, committed bool, err error) {
	batches = map[int64]arrow.RecordBatch{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return batches, false, nil
	}
	if err != nil {
		return nil, false, filestage.FileError(err, "read staging directory", dir)
	}
	for _, e := range entries {
		if e.Name() == committedMarker {
			committed = true
			continue
		}
		seqStr, ok := strings.CutSuffix(e.Name(), ".arrow")
		if !ok {
			continue // a temp file of a write that never finished
		}
		seq, err := strconv.ParseInt(seqStr, 10, 64)
		if err != nil {
			continue
		}
		rec, err := readIPC(filepath.Join(dir, e.Name()))
		if err != nil {
			for _, r := range batches {
				r.Release()
			}
			return nil, false, err
		}
		batches[seq] = rec
	}
	return batches, committed, nil
}

func readIPC(path string) (arrow.RecordBatch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, filestage.FileError(err, "read staged batch", path)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, errclass.Permanentf("staged batch %s is damaged: %w", filestage.Show(path), err)
	}
	defer r.Close()
	if r.NumRecords() != 1 {
		return nil, errclass.Permanentf("staged batch %s holds %d batches, want 1", filestage.Show(path), r.NumRecords())
	}
	rec, err := r.RecordBatch(0)
	if err != nil {
		return nil, errclass.Permanentf("staged batch %s is damaged: %w", filestage.Show(path), err)
	}
	rec.Retain()
	return rec, nil
}

// spill writes rec as dir/<seq>.arrow durably.
func spill(dir string, seq int64, rec arrow.RecordBatch) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return filestage.FileError(err, "create staging directory", dir)
	}
	tmp, err := os.CreateTemp(dir, ".part-*")
	if err != nil {
		return filestage.FileError(err, fmt.Sprintf("stage batch %d in", seq), dir)
	}
	defer os.Remove(tmp.Name())
	w, err := ipc.NewFileWriter(tmp, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	if err == nil {
		err = w.Write(rec)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, fmt.Sprintf("%d.arrow", seq)))
	}
	if err != nil {
		return filestage.FileError(err, fmt.Sprintf("stage batch %d in", seq), dir)
	}
	return nil
}

// markCommitted replaces a write's staged batches with the committed marker.
func markCommitted(dir string) error {
	// A write of no batches never created its directory.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errclass.Transientf("mark write committed in %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, committedMarker), nil, 0o644); err != nil {
		return filestage.FileError(err, "mark write committed in", dir)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != committedMarker {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}
