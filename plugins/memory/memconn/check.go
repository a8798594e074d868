package memconn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

var _ sdk.WriteChecker = (*Connector)(nil)

// newInstanceID returns a random name for one connector (one plugin
// process serves one), for resolved targets: the tables of a memory
// destination live in its own process, so two destinations never share
// one, while two flows into one destination and table do. Unlike a pid,
// it is never reused.
func newInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CheckWrite reports whether a write could begin: the mode is replace,
// append or upsert, and upsert has key columns (that they are columns of
// the data is checked by BeginWrite, which has the schema). Refusals are
// PERMANENT; BeginWrite makes the same checks.
//
// resolved is what a commit changes that another write could change too:
// with dump_path, the dump file ("file:" and its absolute path, so two
// destinations dumping to one file resolve equal, as do two tables of one
// destination whose dump_path has no {table}); without it, the table in
// this connector ("memory://INSTANCE/TABLE", INSTANCE random per
// connector), equal only for flows into the same destination and table.
func (c *Connector) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	cfg, err := c.config()
	if err != nil {
		return "", err
	}
	target, err := checkWrite(cfg, req)
	if err != nil {
		return "", err
	}
	if cfg.dumpPath == "" {
		return "memory://" + c.id + "/" + target, nil
	}
	dump := dumpFile(cfg.dumpPath, target)
	real, err := filestage.RealPath(dump)
	if err != nil {
		// The commit reports why it cannot dump; the file is still the
		// one named.
		if real, err = filepath.Abs(dump); err != nil {
			real = dump
		}
	}
	return "file:" + real, nil
}

// checkWrite is the validation CheckWrite and BeginWrite share: it returns
// the table written (the target, or table_name when there is none).
func checkWrite(cfg *config, req sdk.WriteRequest) (string, error) {
	target := req.Target
	if target == "" {
		target = cfg.tableName
	}
	switch req.Mode {
	case sdk.ModeReplace, sdk.ModeAppend:
	case sdk.ModeUpsert:
		if len(req.Key) == 0 {
			return "", errclass.Permanentf("upsert into memory table %q needs key columns", target)
		}
	default:
		return "", errclass.Permanentf("memory table %q: unknown write mode %q; the memory destination accepts replace, append and upsert", target, req.Mode)
	}
	return target, nil
}
