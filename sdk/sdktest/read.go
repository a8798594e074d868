package sdktest

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/arrowipc"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/rpcclient"
)

// MaxReadPages bounds how many pages [ReadAll] reads before it gives up: a
// source that never reports Done (or loops on one checkpoint) is reported
// as an error instead of running until the test's deadline.
const MaxReadPages = 100_000

// Page is what [ReadAll] learned about one page it read.
type Page struct {
	// Checkpoint is the checkpoint the source returned after this page: the
	// position a resumed read starts from.
	Checkpoint []byte
	// Done reports that the source said this was the last page.
	Done bool
	// Rows are the page's own rows.
	Rows rowhash.Sum
	// Through are the rows of this page and of every page before it in the
	// same read: what a reader holds once it has this page's checkpoint.
	Through rowhash.Sum
	// Bytes is the size of the page's Arrow IPC bytes as they crossed the
	// wire.
	Bytes int
	// Schema is the page's Arrow schema, or nil for a page without data.
	Schema *arrow.Schema
}

// ReadAll reads req.Stream with c from req.Checkpoint (nil: the start) until
// the source reports Done, page by page as the host does, and returns the
// rows read and one Page per page in order. It checks what keeps a read
// from going wrong silently: every page but the last must carry a
// checkpoint, each page's row count must match its data, and a read longer
// than MaxReadPages pages is an error. The error of a failed call names the
// page it happened on; the pages read before it are returned with it.
func ReadAll(ctx context.Context, c *rpcclient.Client, req sdk.ReadRequest) (rowhash.Sum, []Page, error) {
	var (
		total rowhash.Sum
		pages []Page
	)
	for i := 0; ; i++ {
		if i == MaxReadPages {
			return total, pages, fmt.Errorf("stream %q: no Done after %d pages", req.Stream, MaxReadPages)
		}
		wire, err := c.ReadPage(ctx, req)
		if err != nil {
			return total, pages, fmt.Errorf("stream %q: read page %d (checkpoint %q): %w", req.Stream, i+1, req.Checkpoint, err)
		}
		p, err := decodePage(wire)
		if err != nil {
			return total, pages, fmt.Errorf("stream %q: page %d (checkpoint %q): %w", req.Stream, i+1, req.Checkpoint, err)
		}
		total.Merge(p.Rows)
		p.Through = total
		pages = append(pages, p)
		if p.Done {
			return total, pages, nil
		}
		if len(p.Checkpoint) == 0 {
			return total, pages, fmt.Errorf("stream %q: page %d is not the last (Done is false) but carries no checkpoint", req.Stream, i+1)
		}
		req.Checkpoint = bytes.Clone(p.Checkpoint)
	}
}

// decodePage hashes a wire page's rows. Through is left to the caller.
func decodePage(wire rpcclient.Page) (Page, error) {
	p := Page{Checkpoint: wire.Checkpoint, Done: wire.Done, Bytes: len(wire.Records)}
	if len(wire.Records) == 0 {
		if wire.Rows != 0 {
			return p, fmt.Errorf("the page says it has %d rows but carries no data", wire.Rows)
		}
		return p, nil
	}
	rec, err := arrowipc.DecodeRecord(wire.Records)
	if err != nil {
		return p, err
	}
	defer rec.Release()
	if rec.NumRows() != wire.Rows {
		return p, fmt.Errorf("the page says it has %d rows but its data has %d", wire.Rows, rec.NumRows())
	}
	p.Rows.Add(rec)
	p.Schema = rec.Schema()
	return p, nil
}
