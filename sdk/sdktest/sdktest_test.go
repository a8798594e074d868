package sdktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/rowhash"
	"github.com/sqlflow/sqlflow-host/sdk/sdktest"
)

// pluginBinary returns the test plugin's path: $SDKTEST_BIN in a child
// process of TestRunCatchesBrokenPlugins, else a fresh build.
func pluginBinary(t *testing.T) string {
	if bin := os.Getenv("SDKTEST_BIN"); bin != "" {
		return bin
	}
	return sdktest.BuildPlugin(t, "internal/testplugin")
}

// readIPCTarget reads the test plugin's target file.
func readIPCTarget(path string) func(context.Context, *arrow.Schema) (rowhash.Sum, error) {
	return func(context.Context, *arrow.Schema) (rowhash.Sum, error) {
		var sum rowhash.Sum
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return sum, nil
		}
		if err != nil {
			return sum, err
		}
		r, err := ipc.NewReader(bytes.NewReader(data))
		if err != nil {
			return sum, err
		}
		defer r.Release()
		for r.Next() {
			sum.Add(r.RecordBatch())
		}
		return sum, r.Err()
	}
}

func config(t *testing.T, bin, broken string) sdktest.Config {
	dir := t.TempDir()
	obj := func(kv ...any) json.RawMessage {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		if broken != "" {
			m["broken"] = broken
		}
		b, _ := json.Marshal(m)
		return b
	}
	return sdktest.Config{
		Binary: bin,
		BadConfigs: []sdktest.BadConfig{
			{Name: "negative rows", Config: json.RawMessage(`{"rows": -1}`), Field: "rows"},
			{Name: "relative dir", Config: json.RawMessage(`{"dir": "out"}`), Field: "dir"},
			{Name: "not an object", Config: json.RawMessage(`[1]`)},
		},
		Source: &sdktest.SourceConfig{
			Config:      obj("rows", 95),
			Stream:      "numbers",
			MaxRows:     7,
			LargeStream: &sdktest.LargeStreamConfig{Config: obj("rows", 40, "payload_bytes", 300_000), Stream: "numbers"},
		},
		Destination: &sdktest.DestinationConfig{
			Config:        obj("dir", dir),
			Target:        "t",
			ReadTarget:    readIPCTarget(filepath.Join(dir, "t.arrow")),
			MissingTarget: "never-written",
		},
	}
}

func TestRunTestPlugin(t *testing.T) {
	bin := pluginBinary(t)
	sdktest.Run(t, config(t, bin, ""))
}

func TestRunAppendMode(t *testing.T) {
	bin := pluginBinary(t)
	cfg := config(t, bin, "")
	cfg.Destination.Mode = sdk.ModeAppend
	cfg.Destination.Columns = []sdktest.Column{sdktest.ColumnString, sdktest.ColumnTimestamp}
	sdktest.Run(t, cfg)
}

// TestBrokenHelper runs the kit in a child process against a plugin broken
// on purpose; TestRunCatchesBrokenPlugins reads its verdict.
func TestBrokenHelper(t *testing.T) {
	mode := os.Getenv("SDKTEST_CHILD")
	if mode == "" {
		t.Skip("run by TestRunCatchesBrokenPlugins")
	}
	bin := pluginBinary(t)
	switch mode {
	case "name_mismatch":
		other := filepath.Join(t.TempDir(), "sqlflow-plugin-other")
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(other, data, 0o755); err != nil {
			t.Fatal(err)
		}
		sdktest.Run(t, config(t, other, ""))
	case "no_read_target":
		cfg := config(t, bin, "")
		cfg.Destination.ReadTarget = nil
		sdktest.Run(t, cfg)
	default:
		sdktest.Run(t, config(t, bin, mode))
	}
}

// runChild runs TestBrokenHelper in a child process in the given mode and
// returns its output and whether it failed.
func runChild(t *testing.T, bin, mode string) (string, bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenHelper$", "-test.v", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), "SDKTEST_CHILD="+mode, "SDKTEST_BIN="+bin)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run child: %v", err)
	}
	return string(out), err != nil
}

func TestRunCatchesBrokenPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many plugin processes")
	}
	bin := pluginBinary(t)
	tests := []struct {
		mode string
		// wantFail lists subtests that must fail, with a phrase of their
		// message.
		wantFail map[string]string
		// wantPass lists subtests that must pass.
		wantPass []string
		// wantSay lists more phrases the output must hold.
		wantSay []string
	}{
		{
			mode: "dup_seq",
			wantFail: map[string]string{
				"destination/staged_invisible_replay_once": "rows were repeated",
				"destination/restart_after_kill":           "rows were repeated",
			},
			wantPass: []string{"spec", "source/resume", "destination/abort", "destination/nulls", "destination/check_write"},
		},
		{
			mode: "visible_before_commit",
			wantFail: map[string]string{
				"destination/staged_invisible_replay_once": "visible before the commit",
				"destination/restart_after_kill":           "killed mid-write",
			},
			wantPass: []string{"spec", "source/resume"},
		},
		{
			mode:     "unseen_checkpoint",
			wantFail: map[string]string{"source/resume": "rows were repeated"},
			wantPass: []string{"spec", "source/check_discover", "source/large_page", "destination/staged_invisible_replay_once"},
		},
		{
			mode:     "abort_keeps",
			wantFail: map[string]string{"destination/abort": "after AbortWrite the target holds"},
			wantPass: []string{"destination/staged_invisible_replay_once", "destination/nulls"},
		},
		{
			mode: "no_schema_keeps_rows",
			wantFail: map[string]string{
				"destination/replace_without_schema": "a replace without a schema and without batches, the target holds",
			},
			wantPass: []string{"destination/staged_invisible_replay_once", "destination/abort", "destination/nulls"},
			wantSay:  []string{`into the target "never-written", which does not exist: <nil>`},
		},
		{
			mode:     "check_write_removes",
			wantFail: map[string]string{"destination/check_write": "CheckWrite must have no side effect"},
			wantPass: []string{"destination/staged_invisible_replay_once", "destination/abort"},
		},
		{
			mode:     "check_write_unstable",
			wantFail: map[string]string{"destination/check_write": "one write must resolve to one string"},
			wantPass: []string{"destination/staged_invisible_replay_once", "destination/nulls"},
		},
		{
			mode:     "schema_refuses",
			wantFail: map[string]string{"spec": "Source.Config, a config Configure must accept, does not match Spec.ConfigSchema"},
			wantPass: []string{"source/resume", "destination/nulls"},
		},
		{
			mode:     "name_mismatch",
			wantFail: map[string]string{"spec": `but the binary is named "sqlflow-plugin-other"`},
			wantPass: []string{"source/resume", "destination/nulls"},
		},
		{
			// Without ReadTarget the kit checks CommitWrite's report, which
			// the test plugin does not give: every commit check fails.
			mode:     "no_read_target",
			wantFail: map[string]string{"destination/staged_invisible_replay_once": `report has no "rows"`},
			wantPass: []string{"spec", "source/resume"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			out, failed := runChild(t, bin, tt.mode)
			if !failed {
				t.Fatalf("the kit passed a plugin broken with %q:\n%s", tt.mode, out)
			}
			for sub, phrase := range tt.wantFail {
				if !strings.Contains(out, "--- FAIL: TestBrokenHelper/"+sub+" ") {
					t.Errorf("subtest %s did not fail", sub)
				}
				if !strings.Contains(out, phrase) {
					t.Errorf("the output does not say %q", phrase)
				}
			}
			for _, phrase := range tt.wantSay {
				if !strings.Contains(out, phrase) {
					t.Errorf("the output does not say %q", phrase)
				}
			}
			for _, sub := range tt.wantPass {
				if !strings.Contains(out, "--- PASS: TestBrokenHelper/"+sub+" ") {
					t.Errorf("subtest %s did not pass", sub)
				}
			}
			if t.Failed() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}

func TestStartKill(t *testing.T) {
	bin := pluginBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), sdktest.DefaultTimeout)
	defer cancel()
	p := sdktest.Start(t, bin)
	spec, err := p.Client.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "testplugin" {
		t.Fatalf("spec name %q", spec.Name)
	}
	if _, err := p.Client.Configure(ctx, json.RawMessage(`{"rows": 10}`)); err != nil {
		t.Fatal(err)
	}
	sum, pages, err := sdktest.ReadAll(ctx, p.Client, sdk.ReadRequest{Stream: "numbers", MaxRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 10 || len(pages) != 4 || !pages[3].Done || pages[3].Through != sum {
		t.Fatalf("ReadAll: %v in %d pages", sum, len(pages))
	}
	p.Kill()
	if _, err := p.Client.Spec(ctx); err == nil {
		t.Fatal("Spec after Kill succeeded")
	}
	p.Kill() // idempotent
}
