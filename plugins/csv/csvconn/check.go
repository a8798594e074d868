package csvconn

import (
	"context"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/filestage"
)

var _ sdk.WriteChecker = (*Connector)(nil)

// CheckWrite reports whether a write could begin, without writing
// anything: the mode is replace or append, and the target is a plain file
// name (or, with a path naming one .csv file, that file) that is not a
// symbolic link, a directory or another special file (see
// filestage.CheckTarget). resolved is "file:" and the target file's
// absolute path, the same for every spelling of it ("x" and "x.csv", a
// relative and an absolute path) and across destinations. Refusals are
// PERMANENT; BeginWrite makes the same checks.
func (c *Connector) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	cfg, err := c.config()
	if err != nil {
		return "", err
	}
	t, err := checkWrite(cfg, req)
	if err != nil {
		return "", err
	}
	return t.Resolved, nil
}

// checkWrite is the validation CheckWrite and BeginWrite share: the mode,
// then the target file.
func checkWrite(cfg config, req sdk.WriteRequest) (filestage.WriteTarget, error) {
	return filestage.CheckFileWrite("csv", cfg.Path, ".csv", req)
}
