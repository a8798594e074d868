package s3conn

import (
	"context"
	"net"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

var _ sdk.WriteChecker = (*Connector)(nil)

// CheckWrite reports whether a write could begin, without reaching the
// server: the target names a dataset under path_prefix (not empty once
// its slashes are trimmed, valid UTF-8, no ".." and no part starting with
// "." or "_", which hold staging and manifests), and the mode is replace
// or append. Refusals are PERMANENT; BeginWrite makes the same checks.
//
// resolved is "s3://ENDPOINT/BUCKET/PREFIX/TARGET/": the endpoint_url's
// host and port (empty for AWS), the bucket and the dataset's prefix, the
// one CommitWrite writes the _SUCCESS manifest and data objects under.
// Targets "orders" and "/orders/" resolve equal; the file format is not
// part of it, since two formats in one dataset overwrite each other's
// manifest too.
func (c *Connector) CheckWrite(ctx context.Context, req sdk.WriteRequest) (string, error) {
	cfg, cli, err := c.state()
	if err != nil {
		return "", err
	}
	target, err := checkWrite(cfg, cli, req)
	if err != nil {
		return "", err
	}
	return "s3://" + endpointHost(cfg.EndpointURL) + "/" + cfg.Bucket + "/" + join(cfg.Prefix, target) + "/", nil
}

// checkWrite is the validation CheckWrite and BeginWrite share: it returns
// the dataset name the target gives (its slashes trimmed).
func checkWrite(cfg config, cli *client, req sdk.WriteRequest) (string, error) {
	target := strings.Trim(req.Target, "/")
	if target == "" || !utf8.ValidString(target) || strings.Contains("/"+target+"/", "/../") || hidden(target) {
		return "", errclass.Permanentf("target %q is not a usable dataset name under %s: use a name or a path of names (a/b) in UTF-8, "+
			"without \"..\" and without parts starting with \".\" or \"_\"", req.Target, cli.url(cfg.Prefix))
	}
	if req.Mode != sdk.ModeReplace && req.Mode != sdk.ModeAppend {
		return "", errclass.Permanentf("write mode %q is not supported by the s3 connector: use replace or append", req.Mode)
	}
	return target, nil
}

// endpointHost is the host and port of an endpoint URL, the host in lower
// case and the scheme's default port filled in; "" without an endpoint.
func endpointHost(endpoint string) string {
	if endpoint == "" {
		return ""
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
