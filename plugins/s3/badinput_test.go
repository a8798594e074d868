package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sqlflow/sqlflow-host/internal/testenv"
)

// TestBadInputThroughCLI runs s3 → s3 flows through `sqlflow-host run`
// with wrong keys or a missing bucket on either side, into a dataset an
// earlier run wrote. Each run fails with one clear error naming what to
// fix, after exactly one attempt of each call although the policy allows
// five (the errors are PERMANENT), the secret appears nowhere in the output, and the
// target dataset is unchanged, object for object.
func TestBadInputThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the host and the plugin and runs them")
	}
	srv := newServer(t)
	srv.put(t, "in/orders/part-0.csv", []byte("id,name\n1,a\n2,b\n3,c\n"))
	dir := t.TempDir()
	bin := filepath.Join(testenv.SafeDir(t), "bin") // the host refuses plugins under /tmp
	for out, pkg := range map[string]string{
		filepath.Join(bin, "sqlflow-host"):                 "../../cmd/sqlflow-host",
		filepath.Join(bin, "plugins", "sqlflow-plugin-s3"): ".",
	} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	const policy = `resilience: {retry: {max_attempts: 5, initial_delay: 0.05, max_delay: 0.2}}`
	run := func(t *testing.T, src, dst string, env ...string) (string, error) {
		yaml := fmt.Sprintf(`version: 1
sources:
  in: {type: s3, endpoint_url: %q, path_prefix: in/orders/, file_format: csv, %s, %s}
destinations:
  out: {type: s3, endpoint_url: %q, path_prefix: out, file_format: parquet, %s, %s}
flows:
  - {name: orders, from: in, stream: orders, to: out, target: orders, mode: replace}
`, srv.endpoint, src, policy, srv.endpoint, dst, policy)
		pfile := filepath.Join(dir, "p.yaml")
		if err := os.WriteFile(pfile, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "sqlflow-host"), "--log-level", "debug",
			"--plugins-dir", filepath.Join(bin, "plugins"), "--state-dir", filepath.Join(dir, "state"), "run", pfile)
		cmd.Env = append(append(os.Environ(), "S3_KEY="+srv.access, "S3_SECRET="+srv.secret), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	good := fmt.Sprintf(`bucket: %s, access_key_id: "${S3_KEY}", secret_access_key: "${S3_SECRET}"`, srv.bucket)
	if out, err := run(t, good, good); err != nil {
		t.Fatalf("the good run failed: %v\n%s", err, out)
	}
	snapshot := func() string {
		var b strings.Builder
		p := s3.NewListObjectsV2Paginator(srv.s3, &s3.ListObjectsV2Input{Bucket: aws.String(srv.bucket), Prefix: aws.String("out/")})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				if strings.Contains(*o.Key, "/.sqlflow-staging/") {
					continue // the connector's own bookkeeping, not the dataset
				}
				fmt.Fprintf(&b, "%s %s %d\n", *o.Key, aws.ToString(o.ETag), aws.ToInt64(o.Size))
			}
		}
		return b.String()
	}
	before := snapshot()
	if before == "" {
		t.Fatal("the good run wrote nothing under out/")
	}

	const badSecret = "Wr0ngSecretKeyForTheTest0123456789abcdef"
	wrongSecret := fmt.Sprintf(`bucket: %s, access_key_id: "${S3_KEY}", secret_access_key: "${BAD_SECRET}"`, srv.bucket)
	wrongKey := fmt.Sprintf(`bucket: %s, access_key_id: NOSUCHKEY0000000, secret_access_key: "${BAD_SECRET}"`, srv.bucket)
	noBucket := fmt.Sprintf(`bucket: %s-missing, access_key_id: "${S3_KEY}", secret_access_key: "${S3_SECRET}"`, srv.bucket)
	cases := []struct {
		name, src, dst, want string
	}{
		{"source: wrong secret", wrongSecret, good, "secret_access_key"},
		{"source: unknown access key", wrongKey, good, "access_key_id"},
		{"source: missing bucket", noBucket, good, "bucket does not exist"},
		{"destination: wrong secret", good, wrongSecret, "secret_access_key"},
		{"destination: missing bucket", good, noBucket, "bucket does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, tc.src, tc.dst, "BAD_SECRET="+badSecret)
			if err == nil {
				t.Fatalf("the run succeeded\n%s", out)
			}
			var errLine string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "error:") || strings.HasPrefix(strings.TrimSpace(l), "flow \"orders\"") {
					errLine += l + "\n"
				}
			}
			t.Logf("%s", errLine)
			if !strings.Contains(errLine, tc.want) {
				t.Errorf("the error does not mention %q:\n%s", tc.want, out)
			}
			if strings.Contains(out, badSecret) || strings.Contains(out, srv.secret) {
				t.Errorf("a secret appears in the output:\n%s", out)
			}
			if strings.Contains(out, "Retrying operation") {
				t.Errorf("the host retried a PERMANENT error:\n%s", out)
			}
			// One attempt per call: the failing call, and the clean-up
			// (abort) the host makes after a failed write, fail once each.
			attempts := testenv.AttemptLine.FindAllStringSubmatch(out, -1)
			if len(attempts) == 0 {
				t.Errorf("no failed attempt logged:\n%s", out)
			}
			for _, a := range attempts {
				if a[2] != "1" || a[3] != "5" || a[4] != "PERMANENT" {
					t.Errorf("failed attempt %q, want attempt 1/5 failed (PERMANENT)", a[0])
				}
			}
			if got := snapshot(); got != before {
				t.Errorf("the target dataset changed:\n%s\nwas\n%s", got, before)
			}
		})
	}
}
