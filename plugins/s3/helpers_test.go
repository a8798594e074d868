package main_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
)

// server is the test S3 server (MinIO, started by .ci/minio.sh) and a fresh
// bucket on it, deleted with its objects when the test ends.
type server struct {
	endpoint, access, secret, bucket string
	s3                               *s3.Client
}

func newServer(t testing.TB) *server {
	t.Helper()
	ep := testenv.Require(t, testenv.S3EndpointVar, "the URL of an S3-compatible server (MinIO: eval \"$(.ci/minio.sh)\")")
	s := &server{endpoint: ep, access: os.Getenv("SQLFLOW_TEST_S3_ACCESS_KEY"), secret: os.Getenv("SQLFLOW_TEST_S3_SECRET_KEY")}
	if s.access == "" || s.secret == "" {
		t.Fatalf("%s is set but SQLFLOW_TEST_S3_ACCESS_KEY or SQLFLOW_TEST_S3_SECRET_KEY is not", testenv.S3EndpointVar)
	}
	s.s3 = s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(ep), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s.access, s.secret, ""),
		DisableLogOutputChecksumValidationSkipped: true,
	})
	b := make([]byte, 6)
	rand.Read(b)
	s.bucket = "sqlflow-test-" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := s.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		t.Fatalf("create bucket %s on %s: %v", s.bucket, ep, err)
	}
	t.Cleanup(func() {
		p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				break
			}
			for _, o := range page.Contents {
				s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: o.Key})
			}
		}
		s.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(s.bucket)})
	})
	return s
}

// config returns a connector config for the bucket plus extra keys.
func (s *server) config(t testing.TB, extra map[string]any) json.RawMessage {
	t.Helper()
	m := map[string]any{
		"bucket": s.bucket, "endpoint_url": s.endpoint,
		"access_key_id": s.access, "secret_access_key": s.secret,
	}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *server) put(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := s.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func (s *server) get(ctx context.Context, key string) ([]byte, error) {
	r, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

func (s *server) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}

// manifestFiles returns the files the _SUCCESS manifest under dir names;
// no manifest means no dataset (nil, nil).
func (s *server) manifestFiles(ctx context.Context, dir string) ([]string, error) {
	b, err := s.get(ctx, dir+"/_SUCCESS")
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchKey") {
			return nil, nil
		}
		return nil, err
	}
	var m struct{ Files []string }
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m.Files, nil
}

// readParquetDataset sums the rows of the parquet dataset under dir, as a
// reader following the manifest convention sees it.
func (s *server) readParquetDataset(ctx context.Context, dir string) (rowhash.Sum, error) {
	var sum rowhash.Sum
	files, err := s.manifestFiles(ctx, dir)
	if err != nil {
		return sum, err
	}
	for _, f := range files {
		b, err := s.get(ctx, dir+"/"+f)
		if err != nil {
			return sum, fmt.Errorf("%s named by the manifest: %w", f, err)
		}
		rdr, err := file.NewParquetReader(bytes.NewReader(b))
		if err != nil {
			return sum, err
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
		if err != nil {
			return sum, err
		}
		rr, err := fr.GetRecordReader(ctx, nil, nil)
		if err != nil {
			return sum, err
		}
		for rr.Next() {
			sum.Add(rr.RecordBatch())
		}
		err = rr.Err()
		rr.Release()
		rdr.Close()
		if err != nil && err != io.EOF {
			return sum, err
		}
	}
	return sum, nil
}
