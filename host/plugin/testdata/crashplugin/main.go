// Command crashplugin crashes on demand, for supervisor tests: Configure
// exits when exit_on_configure is true; Check exits while crash_file
// exists; BeginWrite records the write ids it saw in seen_file.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hashicorp/go-hclog"

	"github.com/sqlflow/sqlflow-host/sdk"
)

type conn struct {
	cfg struct {
		ExitOnConfigure bool   `json:"exit_on_configure"`
		CrashFile       string `json:"crash_file"`
		SeenFile        string `json:"seen_file"`
	}
}

func (c *conn) Spec() sdk.Spec {
	return sdk.Spec{Name: "crash", Version: "0.0.1", ConfigSchema: json.RawMessage(`{"type":"object"}`)}
}

func (c *conn) Configure(ctx context.Context, raw json.RawMessage) ([]sdk.FieldError, error) {
	if err := json.Unmarshal(raw, &c.cfg); err != nil {
		return nil, err
	}
	if c.cfg.ExitOnConfigure {
		fmt.Fprintln(os.Stderr, "crashing on purpose at configure")
		os.Exit(3)
	}
	return nil, nil
}

func (c *conn) Check(ctx context.Context) error {
	if _, err := os.Stat(c.cfg.CrashFile); err == nil {
		fmt.Fprintln(os.Stderr, "simulated segfault in check")
		os.Exit(2)
	}
	return nil
}

func (c *conn) BeginWrite(ctx context.Context, req sdk.WriteRequest) error {
	f, err := os.OpenFile(c.cfg.SeenFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, req.WriteID)
	return err
}

func (c *conn) WriteBatch(ctx context.Context, id string, seq int64, rec arrow.RecordBatch) error {
	return nil
}
func (c *conn) CommitWrite(ctx context.Context, id string, state []byte) error { return nil }
func (c *conn) AbortWrite(ctx context.Context, id string) error                { return nil }

func main() {
	sdk.Serve(func(hclog.Logger) sdk.Connector { return &conn{} })
}
