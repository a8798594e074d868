package s3conn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sqlflow/sqlflow-host/sdk/classify/awsclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// client is the plugin's one S3 client: aws-sdk-go-v2 with its own retryer
// off (the host retries, one layer), every error classified by awsclass.
type client struct {
	s3     *s3.Client
	bucket string
}

// object is one listed object.
type object struct {
	Key  string
	ETag string
	Size int64
	// Modified is the object's LastModified, truncated to the second
	// (ListObjectsV2 answers milliseconds, HeadObject seconds).
	Modified time.Time
}

func newClient(ctx context.Context, cfg config) (*client, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.Region),
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		awsconfig.WithRetryMaxAttempts(1),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = 16
			tr.ResponseHeaderTimeout = 60 * time.Second
		})),
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, errclass.Permanentf("load the AWS configuration: %v", err)
	}
	c := s3.NewFromConfig(ac, func(o *s3.Options) {
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 1
		o.UsePathStyle = cfg.PathStyle
		// Range reads carry no whole-object checksum: do not log that for
		// every page.
		o.DisableLogOutputChecksumValidationSkipped = true
		if cfg.EndpointURL != "" {
			o.BaseEndpoint = aws.String(cfg.EndpointURL)
		}
	})
	return &client{s3: c, bucket: cfg.Bucket}, nil
}

func (c *client) url(key string) string { return "s3://" + c.bucket + "/" + key }

// list returns the objects under prefix in key order (ListObjectsV2 answers
// in UTF-8 binary order), following every page.
func (c *client) list(ctx context.Context, prefix string) ([]object, error) {
	var out []object
	p := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsclass.Classify(ctx, err, "list "+c.url(prefix))
		}
		for _, o := range page.Contents {
			out = append(out, object{Key: aws.ToString(o.Key), ETag: aws.ToString(o.ETag), Size: aws.ToInt64(o.Size),
				Modified: aws.ToTime(o.LastModified).UTC().Truncate(time.Second)})
		}
	}
	return out, nil
}

// head returns one object's ETag and size.
func (c *client) head(ctx context.Context, key string) (object, error) {
	r, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
	if err != nil {
		return object{}, awsclass.Classify(ctx, err, "head "+c.url(key))
	}
	return object{Key: key, ETag: aws.ToString(r.ETag), Size: aws.ToInt64(r.ContentLength),
		Modified: aws.ToTime(r.LastModified).UTC().Truncate(time.Second)}, nil
}

// get opens key from byte off (to end when n <= 0, else n bytes), requiring
// etag when not empty: an object changed under a read is a PERMANENT error.
func (c *client) get(ctx context.Context, key, etag string, off, n int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)}
	if n > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	} else if off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	if etag != "" {
		in.IfMatch = aws.String(etag)
	}
	r, err := c.s3.GetObject(ctx, in)
	if err != nil {
		if isCode(err, "PreconditionFailed") {
			return nil, errclass.Permanentf("%s changed while it was being read (its ETag is no longer %s): start the stream again (reset the flow's checkpoint)", c.url(key), etag)
		}
		return nil, awsclass.Classify(ctx, err, "get "+c.url(key))
	}
	return r.Body, nil
}

// readAll reads a whole small object.
func (c *client) readAll(ctx context.Context, key string) ([]byte, error) {
	body, err := c.get(ctx, key, "", 0, 0)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, awsclass.Classify(ctx, err, "read "+c.url(key))
	}
	return b, nil
}

func (c *client) put(ctx context.Context, key string, data []byte) error {
	_, err := c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	return awsclass.Classify(ctx, err, "put "+c.url(key))
}

func (c *client) copy(ctx context.Context, from, to string) error {
	_, err := c.s3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(c.bucket), Key: aws.String(to),
		CopySource: aws.String(c.bucket + "/" + from),
	})
	return awsclass.Classify(ctx, err, "copy "+c.url(from)+" to "+c.url(to))
}

// deleteKeys deletes keys, up to 1,000 per request.
func (c *client) deleteKeys(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		ids := make([]types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		r, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(c.bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return awsclass.Classify(ctx, err, "delete objects in "+c.url(""))
		}
		if len(r.Errors) > 0 {
			e := r.Errors[0]
			return errclass.Transientf("delete %s: %s: %s", c.url(aws.ToString(e.Key)), aws.ToString(e.Code), aws.ToString(e.Message))
		}
		keys = keys[n:]
	}
	return nil
}

// deletePrefix deletes every object under prefix.
func (c *client) deletePrefix(ctx context.Context, prefix string) error {
	objs, err := c.list(ctx, prefix)
	if err != nil {
		return err
	}
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return c.deleteKeys(ctx, keys)
}

func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}

// probe lists at most one key under prefix.
func (c *client) probe(ctx context.Context, prefix string) error {
	_, err := c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)})
	return awsclass.Classify(ctx, err, "list "+c.url(prefix))
}

// rangeReader reads an object from a byte offset as a stream of bounded
// range requests (window bytes each), each requiring the object's ETag.
type rangeReader struct {
	ctx    context.Context
	c      *client
	key    string
	etag   string
	off    int64 // next byte to request
	size   int64
	window int64
	body   io.ReadCloser
}

func (r *rangeReader) Read(p []byte) (int, error) {
	for {
		if r.body == nil {
			if r.off >= r.size {
				return 0, io.EOF
			}
			n := min(r.window, r.size-r.off)
			b, err := r.c.get(r.ctx, r.key, r.etag, r.off, n)
			if err != nil {
				return 0, err
			}
			r.body = b
			r.off += n
		}
		n, err := r.body.Read(p)
		if err == io.EOF {
			r.body.Close()
			r.body = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			return n, awsclass.Classify(r.ctx, err, "read "+r.c.url(r.key))
		}
		return n, nil
	}
}

func (r *rangeReader) Close() error {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	return nil
}

// readerAt is an io.ReaderAt and io.Seeker over range requests of one
// object (for Parquet: footer first, then column chunks).
type readerAt struct {
	ctx  context.Context
	c    *client
	key  string
	etag string
	size int64
	pos  int64
}

func (r *readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.size-off)
	body, err := r.c.get(r.ctx, r.key, r.etag, off, n)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	got, err := io.ReadFull(body, p[:n])
	if err != nil {
		return got, awsclass.Classify(r.ctx, err, "read "+r.c.url(r.key))
	}
	if n < int64(len(p)) {
		return got, io.EOF
	}
	return got, nil
}

func (r *readerAt) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	return n, err
}

func (r *readerAt) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += r.size
	}
	if off < 0 {
		return 0, fmt.Errorf("seek before the start of %s", r.key)
	}
	r.pos = off
	return off, nil
}
