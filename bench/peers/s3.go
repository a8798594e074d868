package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Config is the S3-compatible server of pair 5 (the SQLFLOW_TEST_S3_*
// variables that .ci/minio.sh prints).
type s3Config struct{ endpoint, access, secret string }

func (c s3Config) set() bool { return c.endpoint != "" && c.access != "" && c.secret != "" }

// s3Bucket is the bucket pair 5 uses; it is created when missing and kept.
const s3Bucket = "sqlflow-bench-peers"

// connector returns the s3 connector's keys for the bucket; the secret is
// read by the host from the environment (${…}), not written in the file.
func (c s3Config) connector(extra map[string]any) map[string]any {
	m := map[string]any{
		"type": "s3", "bucket": s3Bucket, "endpoint_url": c.endpoint,
		"access_key_id": c.access, "secret_access_key": "${SQLFLOW_TEST_S3_SECRET_KEY}",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func (c s3Config) client() *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(c.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(c.access, c.secret, ""),
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

// upload makes the bucket when missing and puts the file at key unless an
// object of its size is there already.
func (c s3Config) upload(ctx context.Context, key string, f input) error {
	cl := c.client()
	_, err := cl.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s3Bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create bucket %s on %s: %w", s3Bucket, c.endpoint, err)
	}
	if h, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(key)}); err == nil && aws.ToInt64(h.ContentLength) == f.bytes {
		return nil
	}
	logf("uploading %s to s3://%s/%s", f.path, s3Bucket, key)
	file, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(key), Body: file}); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s3Bucket, key, err)
	}
	return nil
}

// removePrefix deletes every object under prefix.
func (c s3Config) removePrefix(ctx context.Context, prefix string) error {
	cl := c.client()
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(s3Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s3Bucket), Key: o.Key}); err != nil {
				return err
			}
		}
	}
	return nil
}
