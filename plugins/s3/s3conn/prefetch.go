package s3conn

import (
	"context"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/metadata"
)

const (
	// fetchPart is the size of one range request of a row group fetch,
	// and fetchParallel how many run at once: about what the transfer
	// manager does (8 MiB parts, 5 at once), which is what fills a fast
	// link to S3 where one request alone is bound by its latency.
	fetchPart     = 8 << 20
	fetchParallel = 4
	// maxPrefetch caps the compressed size of a row group that is fetched
	// whole ahead of decoding; a bigger one is read column chunk by column
	// chunk, as the Parquet reader asks. Two row groups (the one being read
	// and the next) are held at most, so this bounds the plugin's memory.
	maxPrefetch = 128 << 20
)

// rowGroupFetch is one row group's column chunks, the byte span
// [start, start+len(data)), downloaded by parallel range requests.
type rowGroupFetch struct {
	start int64
	data  []byte
	done  chan struct{}
	err   error
}

// prefetchReader is the io.ReaderAt a Parquet file is read through: reads
// inside a fetched row group's span are served from memory (waiting for the
// fetch when it is still running), others go to S3 as range requests.
// fetch starts a row group's download; the caller fetches the next row
// group while the current one is decoded, so the download of one overlaps
// the decoding of the other.
type prefetchReader struct {
	*readerAt
	mu      sync.Mutex
	fetches map[int]*rowGroupFetch
}

func newPrefetchReader(ra *readerAt) *prefetchReader {
	return &prefetchReader{readerAt: ra, fetches: map[int]*rowGroupFetch{}}
}

// span returns the byte span of row group rg's column chunks.
func span(rg *metadata.RowGroupMetaData) (start, end int64, ok bool) {
	start = -1
	for i := 0; i < rg.NumColumns(); i++ {
		col, err := rg.ColumnChunk(i)
		if err != nil {
			return 0, 0, false
		}
		s := col.DataPageOffset()
		if col.HasDictionaryPage() && col.DictionaryPageOffset() > 0 && s > col.DictionaryPageOffset() {
			s = col.DictionaryPageOffset()
		}
		if start < 0 || s < start {
			start = s
		}
		end = max(end, s+col.TotalCompressedSize())
	}
	return start, end, start >= 0 && end > start
}

// fetch starts downloading row group i of meta unless it is running or
// done, or too big; it forgets the fetches of row groups before keep.
func (p *prefetchReader) fetch(meta *metadata.FileMetaData, i, keep int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Buffers are not reused: a free list saved zeroing them but kept
	// two more row groups alive (about 100 MiB more peak RSS with 32 MiB
	// row groups).
	for k := range p.fetches {
		if k < keep {
			delete(p.fetches, k)
		}
	}
	if i >= meta.NumRowGroups() || p.fetches[i] != nil {
		return
	}
	start, end, ok := span(meta.RowGroup(i))
	if !ok || end-start > maxPrefetch || end > p.size {
		return
	}
	f := &rowGroupFetch{start: start, data: make([]byte, end-start), done: make(chan struct{})}
	p.fetches[i] = f
	go f.run(p.ctx, p.readerAt)
}

func (f *rowGroupFetch) run(ctx context.Context, ra *readerAt) {
	defer close(f.done)
	var wg sync.WaitGroup
	var once sync.Once
	sem := make(chan struct{}, fetchParallel)
	for off := int64(0); off < int64(len(f.data)); off += fetchPart {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			part := f.data[off:min(off+fetchPart, int64(len(f.data)))]
			if _, err := ra.ReadAt(part, f.start+off); err != nil && err != io.EOF {
				once.Do(func() { f.err = err })
			}
		}()
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
}

// ReadAt serves p from a fetched row group when [off, off+len(p)) lies in
// one, else reads it from S3.
func (p *prefetchReader) ReadAt(b []byte, off int64) (int, error) {
	p.mu.Lock()
	var f *rowGroupFetch
	for _, x := range p.fetches {
		if off >= x.start && off+int64(len(b)) <= x.start+int64(len(x.data)) {
			f = x
			break
		}
	}
	p.mu.Unlock()
	if f == nil {
		return p.readerAt.ReadAt(b, off)
	}
	select {
	case <-f.done:
	case <-p.ctx.Done():
		return 0, p.ctx.Err()
	}
	if f.err != nil {
		return 0, f.err
	}
	return copy(b, f.data[off-f.start:]), nil
}

// Read and Seek go through ReadAt, so the file reader's sequential reads
// (the footer) use fetched row groups too.
func (p *prefetchReader) Read(b []byte) (int, error) {
	n, err := p.ReadAt(b, p.pos)
	p.pos += int64(n)
	return n, err
}
