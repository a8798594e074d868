package s3conn

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

type parquetObject struct {
	rdr *file.Reader
	fr  *pqarrow.FileReader
	pr  *prefetchReader
}

// openParquet reads ob's footer (range requests through readerAt). A row
// group's column chunks are fetched whole by parallel range requests when
// it is read, and the next row group's while it is decoded
// (prefetchReader).
func openParquet(ctx context.Context, cli *client, ob object) (*parquetObject, error) {
	pr := newPrefetchReader(&readerAt{ctx: ctx, c: cli, key: ob.Key, etag: ob.ETag, size: ob.Size})
	// A buffered stream reads a column chunk through a 1 MiB buffer instead
	// of copying it whole into a new allocation (the chunk is in memory
	// already when its row group was fetched).
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	rdr, err := file.NewParquetReader(pr, file.WithReadProps(props))
	if err != nil {
		if errclass.Of(err) != errclass.Unknown {
			return nil, err
		}
		return nil, errclass.Permanentf("%s is not a Parquet file: %v", cli.url(ob.Key), err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		rdr.Close()
		return nil, errclass.Permanentf("%s: %v", cli.url(ob.Key), err)
	}
	return &parquetObject{rdr: rdr, fr: fr, pr: pr}, nil
}

// readParquet reads up to the caps from row cp.Row of row group
// cp.RowGroup (never across row groups). The file and the row group's
// record reader stay open for the next page (openRead).
func readParquet(ctx context.Context, cli *client, st *streamInfo, ob object, cp *checkpoint, maxRows, maxBytes int64) (arrow.RecordBatch, error) {
	o := st.open
	if o == nil || o.pf == nil || o.key != ob.Key || o.etag != ob.ETag || o.ctx.Err() != nil {
		st.open.close()
		st.open = nil
		o = &openRead{key: ob.Key, etag: ob.ETag}
		o.ctx, o.cancel = context.WithCancel(context.WithoutCancel(ctx))
		stop := o.watch(ctx)
		pf, err := openParquet(o.ctx, cli, ob)
		stop()
		if err != nil {
			o.cancel()
			return nil, ctxErr(ctx, err)
		}
		o.pf = pf
		schema, err := pf.fr.Schema()
		if err != nil {
			o.close()
			return nil, errclass.Permanentf("%s: %v", cli.url(ob.Key), err)
		}
		if !schema.Equal(st.schema) {
			o.close()
			return nil, errclass.Permanentf("%s has the schema %s, but the stream's first object has %s: objects of one stream share their schema", cli.url(ob.Key), schema, st.schema)
		}
		st.open = o
	}
	stop := o.watch(ctx)
	defer stop()
	pf := o.pf
	meta := pf.rdr.MetaData()
	for cp.RowGroup < pf.rdr.NumRowGroups() && cp.Row >= meta.RowGroup(cp.RowGroup).NumRows() {
		cp.RowGroup, cp.Row = cp.RowGroup+1, 0
	}
	if cp.RowGroup >= pf.rdr.NumRowGroups() {
		cp.Done = true
		return emptyRecord(st.schema), nil
	}
	rg := meta.RowGroup(cp.RowGroup)
	rgRows := rg.NumRows()
	batch := min(maxRows, rgRows)
	if perRow := rg.TotalByteSize() / max(rgRows, 1); perRow > 0 {
		batch = min(batch, max(maxBytes/perRow, 1))
	}
	if o.prr == nil || o.rg != cp.RowGroup || o.row != cp.Row || o.batch != batch {
		if o.prr != nil {
			o.prr.Release()
			o.prr = nil
		}
		// This row group's bytes, then the next one's while this one is
		// decoded and sent.
		pf.pr.fetch(meta, cp.RowGroup, cp.RowGroup)
		pf.pr.fetch(meta, cp.RowGroup+1, cp.RowGroup)
		pf.fr.Props.BatchSize = batch
		rr, err := pf.fr.GetRecordReader(o.ctx, nil, []int{cp.RowGroup})
		if err != nil {
			return nil, ctxErr(ctx, parquetErr(err, cli, ob.Key, cp.RowGroup))
		}
		o.prr, o.rg, o.row, o.batch = rr, cp.RowGroup, 0, batch
		if cp.Row > 0 {
			if err := rr.SeekToRow(cp.Row); err != nil {
				return nil, ctxErr(ctx, parquetErr(err, cli, ob.Key, cp.RowGroup))
			}
			o.row = cp.Row
		}
	}
	if !o.prr.Next() {
		if err := o.prr.Err(); err != nil {
			return nil, ctxErr(ctx, parquetErr(err, cli, ob.Key, cp.RowGroup))
		}
		return nil, errclass.Permanentf("%s, row group %d: no rows at row %d", cli.url(ob.Key), cp.RowGroup, cp.Row)
	}
	rec := o.prr.RecordBatch()
	n := min(rec.NumRows(), batch, rgRows-cp.Row)
	out := rec.NewSlice(0, n)
	cp.Row += n
	o.row = cp.Row
	if cp.Row >= rgRows {
		cp.RowGroup, cp.Row = cp.RowGroup+1, 0
		o.prr.Release()
		o.prr = nil
	}
	if cp.RowGroup >= pf.rdr.NumRowGroups() {
		cp.Done = true
	}
	return out, nil
}

func parquetErr(err error, cli *client, key string, rg int) error {
	if errclass.Of(err) != errclass.Unknown {
		return err
	}
	return errclass.Permanentf("%s, row group %d: %v", cli.url(key), rg, err)
}

// ctxErr reports a call whose context ended as that context's error (the
// open read's own context was cancelled with it).
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errclass.Transientf("%w (%v)", ctx.Err(), err)
	}
	return err
}
