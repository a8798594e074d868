package s3conn

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sqlflow/sqlflow-host/sdk/classify/awsclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// Multipart uploads of the destination.
//
// Every batch (seq) of a write becomes one data object,
// <dataset>/part-<write id>-<seq>.<ext>, written as one multipart upload
// straight to that key (no staging copy, no server-side copy at commit).
// The batch is encoded as a stream cut into parts of partSize bytes (the
// last one shorter), uploaded up to partConcurrency at a time while the
// encoder goes on, and the upload is completed before WriteBatch returns:
// an acknowledged batch is durable, and a completion that fails is repaired
// by sending the batch again (the host does), which a completion deferred
// to CommitWrite could not be. The object is named by no manifest until
// CommitWrite. A batch sent again after an attempt that did not complete
// uploads the same part numbers into the same upload: a retried part
// overwrites itself.
//
// Before an upload is created, an empty marker object upload-<seq> is put in
// the write's staging prefix. Markers are how a later process finds a
// write's incomplete uploads (S3-compatible servers such as MinIO list the
// uploads of one exact key only, never of a prefix): CommitWrite, AbortWrite
// and the flow's next BeginWrite call ListMultipartUploads on each marked
// key and AbortMultipartUpload on what is left.

const (
	// partSize is the size at which an encoded batch is cut into a new
	// part: S3 wants every part but the last to be at least 5 MiB; 16 MiB
	// keeps default pages (8 MiB of Arrow data) to one part and large ones
	// (--page-bytes up to 255 MiB) to at most 16, well under S3's 10,000.
	partSize = 16 << 20
	// partConcurrency is how many parts of one batch upload at once.
	partConcurrency = 4
	// commitConcurrency is how many keys CommitWrite, AbortWrite and
	// BeginWrite check for stray uploads at once.
	commitConcurrency = 8
	// markerPrefix starts the name of a batch's marker in the staging
	// prefix.
	markerPrefix = "upload-"
)

// upload is one batch's multipart upload, as this process knows it.
type upload struct {
	key string
	id  string
	// parts are the parts the completed upload was made of.
	parts []types.CompletedPart
	// suspect: a create or completion failed, so the server may hold an
	// upload of key that this process does not know; commit lists them.
	suspect bool
	// completed: the batch's object is in place.
	completed bool
	// pending are the parts of a completion whose outcome is unknown (its
	// reply was lost), and pendingSize their bytes: the next attempt
	// looks for the object they make before it uploads anything.
	pending     []types.CompletedPart
	pendingSize int64
}

var bufPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, partSize+partSize/4)) }}

// partWriter is an io.Writer that cuts what is written into parts of at
// least partSize bytes and uploads them concurrently while the writer goes
// on. Part numbers count from 1 in the order the bytes were written, so
// the same bytes give the same parts.
type partWriter struct {
	ctx context.Context
	cli *client
	key string
	// id waits for the upload to exist and returns its id.
	id func() (string, error)

	buf  *bytes.Buffer
	next int32
	// size is the bytes handed to parts so far.
	size int64
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	done []types.CompletedPart
	err  error
}

func newPartWriter(ctx context.Context, cli *client, key string, id func() (string, error)) *partWriter {
	return &partWriter{ctx: ctx, cli: cli, key: key, id: id, sem: make(chan struct{}, partConcurrency)}
}

func (p *partWriter) Write(b []byte) (int, error) {
	if err := p.failed(); err != nil {
		return 0, err
	}
	if p.buf == nil {
		p.buf = bufPool.Get().(*bytes.Buffer)
	}
	p.buf.Write(b)
	if p.buf.Len() >= partSize {
		p.flush()
	}
	return len(b), nil
}

func (p *partWriter) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// flush uploads the buffered bytes as the next part, in the background.
func (p *partWriter) flush() {
	buf := p.buf
	p.buf = nil
	p.size += int64(buf.Len())
	p.next++
	n := p.next
	p.sem <- struct{}{}
	p.wg.Add(1)
	go func() {
		defer func() {
			buf.Reset()
			bufPool.Put(buf)
			<-p.sem
			p.wg.Done()
		}()
		id, err := p.id()
		var part types.CompletedPart
		if err == nil {
			part, err = p.cli.uploadPart(p.ctx, p.key, id, n, buf.Bytes())
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			if p.err == nil {
				p.err = err
			}
			return
		}
		p.done = append(p.done, part)
	}()
}

// close uploads the last part (the only one, possibly empty, when fewer
// than partSize bytes were written), waits for every part and returns them
// in part-number order.
func (p *partWriter) close() ([]types.CompletedPart, error) {
	if p.buf != nil || p.next == 0 {
		if p.buf == nil {
			p.buf = bufPool.Get().(*bytes.Buffer)
		}
		p.flush()
	}
	p.wg.Wait()
	if p.err != nil {
		return nil, p.err
	}
	sort.Slice(p.done, func(i, j int) bool { return aws.ToInt32(p.done[i].PartNumber) < aws.ToInt32(p.done[j].PartNumber) })
	return p.done, nil
}

// abort waits for the parts in flight after a failed encoding.
func (p *partWriter) abort() {
	if p.buf != nil {
		p.buf.Reset()
		bufPool.Put(p.buf)
		p.buf = nil
	}
	p.wg.Wait()
}

func (c *client) createUpload(ctx context.Context, key string) (string, error) {
	r, err := c.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
	if err != nil {
		return "", awsclass.Classify(ctx, err, "create a multipart upload of "+c.url(key))
	}
	return aws.ToString(r.UploadId), nil
}

func (c *client) uploadPart(ctx context.Context, key, id string, n int32, data []byte) (types.CompletedPart, error) {
	r, err := c.s3.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key), UploadId: aws.String(id), PartNumber: aws.Int32(n),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if isNoSuchUpload(err) {
		return types.CompletedPart{}, errclass.Transientf("upload part %d of %s: %w; the batch will start a new upload", n, c.url(key), errUploadGone)
	}
	if err != nil {
		return types.CompletedPart{}, awsclass.Classify(ctx, err, "upload part "+strconv.Itoa(int(n))+" of "+c.url(key))
	}
	return types.CompletedPart{
		PartNumber: aws.Int32(n), ETag: r.ETag,
		ChecksumCRC32: r.ChecksumCRC32, ChecksumCRC32C: r.ChecksumCRC32C, ChecksumCRC64NVME: r.ChecksumCRC64NVME,
		ChecksumSHA1: r.ChecksumSHA1, ChecksumSHA256: r.ChecksumSHA256,
	}, nil
}

// completeUpload completes an upload. gone reports an upload the server no
// longer knows (NoSuchUpload: completed by an earlier attempt whose answer
// was lost, or aborted) or whose parts it no longer finds (InvalidPart:
// MinIO after a completion cut off half-way).
func (c *client) completeUpload(ctx context.Context, key, id string, parts []types.CompletedPart) (gone bool, err error) {
	_, err = c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if isNoSuchUpload(err) || isCode(err, "InvalidPart") {
		return true, nil
	}
	return false, awsclass.Classify(ctx, err, "complete the multipart upload of "+c.url(key))
}

// completedAs reports whether the object at key is the one a completion
// of parts (size bytes in all) makes: its ETag is S3's multipart ETag of
// those parts (the MD5 of their MD5s, "-" and their count). Where the parts'
// ETags are not MD5s (SSE-KMS), an object of size bytes made of as many
// parts counts. No object is false, not an error.
func completedAs(ctx context.Context, cli *client, key string, parts []types.CompletedPart, size int64) (bool, error) {
	r, err := cli.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(cli.bucket), Key: aws.String(key)})
	if err != nil {
		var nf *types.NotFound
		if errors.As(err, &nf) || isCode(err, "NotFound") || isCode(err, "NoSuchKey") {
			return false, nil
		}
		return false, awsclass.Classify(ctx, err, "look for the completed upload of "+cli.url(key))
	}
	etag := strings.Trim(aws.ToString(r.ETag), `"`)
	if want, ok := multipartETag(parts); ok {
		return etag == want, nil
	}
	return aws.ToInt64(r.ContentLength) == size && strings.HasSuffix(etag, "-"+strconv.Itoa(len(parts))), nil
}

// multipartETag is the ETag S3 gives the object completed from parts; ok
// is false when a part's ETag is not an MD5.
func multipartETag(parts []types.CompletedPart) (string, bool) {
	h := md5.New()
	for _, p := range parts {
		b, err := hex.DecodeString(strings.Trim(aws.ToString(p.ETag), `"`))
		if err != nil || len(b) != md5.Size {
			return "", false
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), true
}

// abortUpload aborts an upload; one the server no longer knows is no error.
func (c *client) abortUpload(ctx context.Context, key, id string) error {
	_, err := c.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(c.bucket), Key: aws.String(key), UploadId: aws.String(id)})
	if isNoSuchUpload(err) {
		return nil
	}
	return awsclass.Classify(ctx, err, "abort the multipart upload of "+c.url(key))
}

// uploads returns the incomplete multipart uploads of exactly key, oldest
// first.
func (c *client) uploads(ctx context.Context, key string) ([]types.MultipartUpload, error) {
	var out []types.MultipartUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(c.bucket), Prefix: aws.String(key)}
	for {
		r, err := c.s3.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, awsclass.Classify(ctx, err, "list the multipart uploads of "+c.url(key))
		}
		for _, u := range r.Uploads {
			if aws.ToString(u.Key) == key {
				out = append(out, u)
			}
		}
		if !aws.ToBool(r.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = r.NextKeyMarker, r.NextUploadIdMarker
	}
	sort.SliceStable(out, func(i, j int) bool { return aws.ToTime(out[i].Initiated).Before(aws.ToTime(out[j].Initiated)) })
	return out, nil
}

// listParts returns an upload's parts in part-number order.
func (c *client) listParts(ctx context.Context, key, id string) ([]types.CompletedPart, error) {
	var out []types.CompletedPart
	p := s3.NewListPartsPaginator(c.s3, &s3.ListPartsInput{Bucket: aws.String(c.bucket), Key: aws.String(key), UploadId: aws.String(id)})
	for p.HasMorePages() {
		r, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsclass.Classify(ctx, err, "list the parts of the multipart upload of "+c.url(key))
		}
		for _, pt := range r.Parts {
			out = append(out, types.CompletedPart{
				PartNumber: pt.PartNumber, ETag: pt.ETag,
				ChecksumCRC32: pt.ChecksumCRC32, ChecksumCRC32C: pt.ChecksumCRC32C, ChecksumCRC64NVME: pt.ChecksumCRC64NVME,
				ChecksumSHA1: pt.ChecksumSHA1, ChecksumSHA256: pt.ChecksumSHA256,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return aws.ToInt32(out[i].PartNumber) < aws.ToInt32(out[j].PartNumber) })
	return out, nil
}

// beforeDeadline ends a call's S3 requests a little before the call's own
// deadline (a tenth of the time left, at most 2 s), so that a call stuck on
// a slow server answers with a TRANSIENT error naming the request, instead
// of the host timing the call out and restarting a plugin that was only
// waiting on S3.
func beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-min(time.Until(dl)/10, 2*time.Second)))
}

func isNoSuchUpload(err error) bool {
	var nu *types.NoSuchUpload
	return err != nil && (errors.As(err, &nu) || isCode(err, "NoSuchUpload"))
}

// parallel runs f for each of n items, at most limit at once, and returns
// the first error. After an error it starts no new item but lets those
// under way finish: an S3 request cut off half-way can leave worse state
// than one that fails (MinIO's multipart calls are not atomic under a
// client disconnect).
func parallel(ctx context.Context, n, limit int, f func(ctx context.Context, i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return first != nil
	}
	sem := make(chan struct{}, limit)
	for i := range n {
		sem <- struct{}{}
		if failed() || ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = errclass.Wrap(errclass.Transient, ctx.Err())
	}
	return first
}
