package parquetconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

// rowsFilePrefix starts the name of the Parquet file a write encodes its
// batches into, inside its staging directory.
const rowsFilePrefix = "rows-"

// stream is the Parquet file of one staged write, encoded as its batches
// arrive: one pqarrow.FileWriter over a file in the staging directory,
// fed in seq order, with the open row group buffered in memory (encoded
// and compressed) and written out when it reaches the row or byte bound.
// The file has no footer until finish; it is derived from the staged
// parts, not the durable record: a process that takes the write over after
// a restart encodes the parts again at commit (see rebuildStream).
type stream struct {
	path   string
	f      *os.File
	buf    *bufio.Writer
	fw     *pqarrow.FileWriter
	schema *arrow.Schema
	// maxGroupBytes closes the open row group once about that many bytes of
	// Arrow data went into it; groupBytes counts them.
	maxGroupBytes int64
	groupBytes    int64
	// full is set when the open row group reached maxGroupBytes: the next
	// batch starts a new one (started lazily, so that the file never ends
	// with an empty row group).
	full bool
	// rows counts the rows written.
	rows int64
}

// writerProps are the Parquet writer properties of cfg: compression, rows
// per row group, the writer's name.
func writerProps(cfg config) *parquet.WriterProperties {
	return parquet.NewWriterProperties(
		parquet.WithCompression(cfg.Compression),
		parquet.WithMaxRowGroupLength(cfg.RowGroupSize),
		parquet.WithCreatedBy("sqlflow-host parquet connector 0.1.0"),
	)
}

// newStream removes any rows file an earlier process (or an earlier,
// failed attempt) left in the staging directory dir and starts a new,
// empty one for schema.
func newStream(dir string, schema *arrow.Schema, cfg config) (*stream, error) {
	old, _ := filepath.Glob(filepath.Join(dir, rowsFilePrefix+"*"))
	for _, p := range old {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return nil, filestage.IOError(err, "remove an old staged Parquet file")
		}
	}
	path := filepath.Join(dir, rowsFilePrefix+strconv.FormatInt(time.Now().UnixNano(), 36)+".parquet")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, filestage.IOError(err, "create the staged Parquet file")
	}
	// 1 MiB: a closing row group is written column chunk by column chunk,
	// often in pieces of a few KiB; the buffer makes them large writes.
	buf := bufio.NewWriterSize(f, 1<<20)
	fw, err := pqarrow.NewFileWriter(schema, onlyWriter{buf}, writerProps(cfg), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, errclass.Permanentf("the schema cannot be written as Parquet: %v", err)
	}
	return &stream{path: path, f: f, buf: buf, fw: fw, schema: schema, maxGroupBytes: cfg.RowGroupBytes}, nil
}

// onlyWriter hides Close from the Parquet writer, which would otherwise
// close the staging file before it is synced.
type onlyWriter struct{ io.Writer }

// write encodes rec, whose columns have the stream's types, into the open
// row group (WriteBuffered starts a new row group wherever the row bound
// falls) and closes the row group when the byte bound is passed.
func (s *stream) write(rec arrow.RecordBatch) error {
	if s.full {
		if err := s.fw.NewBufferedRowGroupChecked(); err != nil {
			return err
		}
		s.full, s.groupBytes = false, 0
	}
	typed := array.NewRecordBatch(s.schema, rec.Columns(), rec.NumRows())
	defer typed.Release()
	before, err := s.fw.RowGroupNumRows()
	if err != nil {
		return err
	}
	if err := s.fw.WriteBuffered(typed); err != nil {
		return err
	}
	n := typed.NumRows()
	s.rows += n
	size := arrowipc.BufferSize(typed)
	after, err := s.fw.RowGroupNumRows()
	if err != nil {
		return err
	}
	if int64(after) != int64(before)+n && n > 0 {
		// The row bound fell inside rec (or right before it): the open
		// group holds only its tail.
		s.groupBytes = size * int64(after) / n
	} else {
		s.groupBytes += size
	}
	if s.groupBytes >= s.maxGroupBytes {
		s.full = true
	}
	return nil
}

// finish writes the open row group and the footer and flushes the file;
// it returns the rows written. The file is left closed, at s.path.
func (s *stream) finish() (int64, error) {
	if err := s.fw.Close(); err != nil {
		s.discard()
		return 0, encodeError(err, "write the Parquet file")
	}
	if err := s.buf.Flush(); err != nil {
		s.discard()
		return 0, filestage.IOError(err, "write the Parquet file")
	}
	if err := s.f.Close(); err != nil {
		os.Remove(s.path)
		return 0, filestage.IOError(err, "close the Parquet file")
	}
	return s.rows, nil
}

// discard drops the stream and its file.
func (s *stream) discard() {
	s.f.Close()
	os.Remove(s.path)
}

// rebuildStream starts a new stream for the write and feeds it every part
// staged, in seq order: the commit of a write that this process took over
// with batches already staged (an unfinished Parquet file cannot be
// reopened), or whose encode failed. The parts must be seqs 1..n.
func rebuildStream(ctx context.Context, w *writeState, cfg config) (*stream, error) {
	id := w.area.Manifest.WriteID
	parts, err := w.area.Parts()
	if err != nil {
		return nil, err
	}
	if err := contiguous(id, parts); err != nil {
		return nil, err
	}
	s, err := newStream(w.area.Path, w.schema, cfg)
	if err != nil {
		return nil, fmt.Errorf("write %q: %w", id, err)
	}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			s.discard()
			return nil, errclass.Transientf("write %q: encode the staged batches: %w", id, err)
		}
		data, err := os.ReadFile(p.Path)
		if err != nil {
			s.discard()
			return nil, filestage.IOError(err, "read staging part")
		}
		rec, err := arrowipc.DecodeRecord(data)
		if err != nil {
			s.discard()
			return nil, errclass.Permanentf("write %q: staged batch %d: %v", id, p.Seq, err)
		}
		err = s.write(rec)
		rec.Release()
		if err != nil {
			s.discard()
			return nil, encodeError(err, fmt.Sprintf("write %q: encode staged batch %d", id, p.Seq))
		}
	}
	return s, nil
}

// contiguous checks that the staged parts are seqs 1..n.
func contiguous(writeID string, parts []filestage.Part) error {
	for i, p := range parts {
		if p.Seq != int64(i+1) {
			return errclass.Permanentf("write %q: the staged batches are not seqs 1..%d (batch %d is staged after %d); begin a new write", writeID, len(parts), p.Seq, i)
		}
	}
	return nil
}

// encodeError classifies an error of the Parquet writer: a file system
// error as filestage does (a full disk is TRANSIENT), anything else (the
// data cannot be encoded) PERMANENT.
func encodeError(err error, what string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return filestage.IOError(err, what)
	}
	return errclass.Permanentf("%s: %v", what, err)
}
