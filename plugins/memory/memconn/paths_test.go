package memconn_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/memory/memconn"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// TestRelativePathErrors: an error about a relative local path of the
// memory connector (staging_dir, dump_path, faults.auth_file) that it
// cannot read or create shows the path as written and as resolved against
// the working directory (the pipeline file's directory when the host runs
// the plugin).
func TestRelativePathErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// A file where a directory should be: nothing can be made under it.
	if err := os.WriteFile("plain", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := sdk.WriteRequest{WriteID: "w", Flow: "f", Target: "t", Schema: kvSchema, Mode: sdk.ModeReplace}

	t.Run("faults.auth_file missing", func(t *testing.T) {
		ferrs, err := memconn.New(nil).Configure(ctx, json.RawMessage(`{"faults": {"auth_file": "secrets/token"}}`))
		want := `cannot read "secrets/token" (resolved to ` + wd + `/secrets/token): no such file or directory`
		if err != nil || len(ferrs) != 1 || ferrs[0].Field != "faults.auth_file" || ferrs[0].Message != want {
			t.Fatalf("Configure = %v, %v; want one field error at faults.auth_file: %s", ferrs, err, want)
		}
	})
	t.Run("staging_dir under a file", func(t *testing.T) {
		c := configured(t, `{"staging_dir": "plain/staging"}`)
		err := c.BeginWrite(ctx, req)
		want := `read staging directory "plain/staging/f--w" (resolved to ` + wd + `/plain/staging/f--w): not a directory`
		if err == nil || err.Error() != want {
			t.Fatalf("BeginWrite = %v, want %s", err, want)
		}
		if errclass.Of(err) != errclass.Permanent {
			t.Errorf("class %v, want PERMANENT", errclass.Of(err))
		}
	})
	t.Run("dump_path under a file", func(t *testing.T) {
		c := configured(t, `{"dump_path": "plain/dumps/{table}.arrow"}`)
		if err := c.BeginWrite(ctx, req); err != nil {
			t.Fatal(err)
		}
		b := kv("1=a")
		defer b.Release()
		if err := c.WriteBatch(ctx, "w", 1, b); err != nil {
			t.Fatal(err)
		}
		err := c.CommitWrite(ctx, "w", nil)
		want := `memory destination: writing dump_path "plain/dumps/t.arrow" (resolved to ` + wd + `/plain/dumps/t.arrow): `
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("CommitWrite = %v, want one starting %s", err, want)
		}
	})
}
