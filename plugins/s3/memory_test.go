package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/sqlflow/sqlflow-host/internal/procstat"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// bigObjectParts and bigPartSize make the generated object: 13 parts of
// 16 MiB, 208 MiB in all (the issue asks for at least 200 MB).
const (
	bigObjectParts = 13
	bigPartSize    = 16 << 20
)

// peakRSSLimit bounds the plugin's peak resident memory while it reads the
// 208 MiB object. The plugin holds about one page at a time: the Arrow
// builders of a page (8 MiB of data), its IPC encoding and gRPC's copy of
// it (8 MiB each), one 8 MiB range request in flight and the csv reader's
// 256 KiB buffer, plus the Go runtime, the AWS SDK and garbage not yet
// collected (GOGC 100 lets the heap reach twice the live data). Measured
// peaks are about 60 to 90 MiB; 160 MiB leaves room for a noisy machine
// and is still well below the object's size, so reading the object whole
// into memory fails the test.
const peakRSSLimit = 160 << 20

// uploadGenerated writes a csv object of parts × partSize bytes (rows
// "id,name,score,day", the last row of each part padded to the part's
// end) by multipart upload, generating one part at a time: the test never
// holds the object. It returns the number of data rows.
func (s *server) uploadGenerated(t *testing.T, key string, parts, partSize int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	up, err := s.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("create upload of %s: %v", key, err)
	}
	var done []types.CompletedPart
	var rows int64
	buf := make([]byte, 0, partSize+256)
	for part := 1; part <= parts; part++ {
		buf = buf[:0]
		if part == 1 {
			buf = append(buf, "id,name,score,day\n"...)
		}
		for {
			row := len(buf)
			buf = strconv.AppendInt(buf, rows, 10)
			buf = append(buf, ",customer "...)
			buf = strconv.AppendInt(buf, rows%50_000, 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, rows%1000, 10)
			buf = append(buf, ".25,2024-05-"...)
			buf = append(buf, byte('1'+rows%9), '\n')
			if len(buf) > partSize {
				// Pad the part to its exact size with the name of its last
				// row, which fits (a row is under 60 bytes).
				buf = buf[:row]
				pad := partSize - row
				line := fmt.Sprintf("%d,%s,1.5,2024-05-01\n", rows, strings.Repeat("x", max(1, pad-len(strconv.FormatInt(rows, 10))-17)))
				buf = append(buf, line...)
				rows++
				break
			}
			rows++
		}
		r, err := s.s3.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(part)), Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf))),
		})
		if err != nil {
			t.Fatalf("upload part %d of %s: %v", part, key, err)
		}
		done = append(done, types.CompletedPart{ETag: r.ETag, PartNumber: aws.Int32(int32(part))})
	}
	if _, err := s.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	}); err != nil {
		t.Fatalf("complete upload of %s: %v", key, err)
	}
	return rows
}

// vmHWM returns a process's peak resident set size, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	hwm, err := procstat.PeakRSS(pid)
	if errors.Is(err, procstat.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return hwm
}

// TestBigObjectBoundedMemory reads one 208 MiB csv object through the
// compiled plugin, page by page as the host does, and asserts that the
// plugin's peak RSS stays under peakRSSLimit: the object is streamed by
// range requests, never held whole.
func TestBigObjectBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads and reads a 208 MiB object")
	}
	srv := newServer(t)
	start := time.Now()
	rows := srv.uploadGenerated(t, "big/orders.csv", bigObjectParts, bigPartSize)
	t.Logf("uploaded %d MiB (%d rows) in %.1fs", bigObjectParts*bigPartSize>>20, rows, time.Since(start).Seconds())

	p := sdktest.Start(t, sdktest.BuildPlugin(t, "."))
	if p.Pid() == 0 {
		t.Fatal("the plugin's pid is unknown")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if fe, err := p.Client.Configure(ctx, srv.config(t, map[string]any{"key": "big/orders.csv"})); err != nil || len(fe) > 0 {
		t.Fatalf("Configure: %v %v", fe, err)
	}
	before := vmHWM(t, p.Pid())
	start = time.Now()
	var got, pages int64
	req := sdk.ReadRequest{Stream: "orders", MaxRows: 65536, MaxBytes: 8 << 20}
	for {
		page, err := p.Client.ReadPage(ctx, req)
		if err != nil {
			t.Fatalf("ReadPage %d: %v", pages+1, err)
		}
		got += page.Rows
		pages++
		if page.Done {
			break
		}
		req.Checkpoint = page.Checkpoint
	}
	peak := vmHWM(t, p.Pid())
	secs := time.Since(start).Seconds()
	t.Logf("read %d rows in %d pages in %.1fs (%.0f MB/s); plugin peak RSS %d MiB (%d MiB after Configure), limit %d MiB",
		got, pages, secs, float64(bigObjectParts*bigPartSize)/secs/1e6, peak>>20, before>>20, peakRSSLimit>>20)
	if got != rows {
		t.Fatalf("read %d rows, want %d", got, rows)
	}
	if peak > peakRSSLimit {
		t.Fatalf("the plugin's peak RSS is %d MiB reading a %d MiB object; want under %d MiB", peak>>20, bigObjectParts*bigPartSize>>20, peakRSSLimit>>20)
	}
}
