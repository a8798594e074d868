// Package awsclass classifies errors of aws-sdk-go-v2 clients (S3 first)
// into the SDK's error classes: throttling (SlowDown, 503, 429 and the
// throttling codes) is RATE_LIMITED, 500-class answers, network errors and
// timeouts are TRANSIENT, an expired token is AUTH_EXPIRED, and everything a
// retry cannot fix (a missing bucket or key, denied access, wrong keys) is
// PERMANENT with a message that says what to change.
package awsclass

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

var throttlingCodes = map[string]bool{
	"SlowDown": true, "Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottled": true, "RequestThrottledException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "ProvisionedThroughputExceededException": true,
	"BandwidthLimitExceeded": true, "EC2ThrottledException": true, "ServiceUnavailable": true,
}

var expiredCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "TokenRefreshRequired": true, "RequestExpired": true,
}

// hints are what a user can do about a permanent error code.
var hints = map[string]string{
	"NoSuchBucket":                 "the bucket does not exist: check bucket/uri, region and endpoint_url",
	"AccessDenied":                 "access denied: the credentials lack permission for this bucket or prefix (check the IAM policy, bucket policy and region)",
	"NoSuchKey":                    "the object does not exist: check key/uri and path_prefix",
	"InvalidAccessKeyId":           "the access key id is not known to the server: check access_key_id (and endpoint_url for S3-compatible servers)",
	"SignatureDoesNotMatch":        "the request signature does not match: check secret_access_key (and region)",
	"InvalidBucketName":            "the bucket name is not valid: check bucket/uri",
	"PermanentRedirect":            "the bucket is in another region: set region to the bucket's region",
	"AuthorizationHeaderMalformed": "the authorization header is malformed, usually a wrong region: set region to the bucket's region",
}

// Classify returns err with a class; what names the operation for the
// message (e.g. `list s3://bucket/prefix`). A nil err returns nil.
func Classify(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	if ctx != nil && ctx.Err() != nil {
		return errclass.Wrap(errclass.Transient, fmt.Errorf("%s: %w", what, err))
	}
	var ce *errclass.Error
	if errors.As(err, &ce) {
		return err
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case throttlingCodes[code] || status == 503 || status == 429:
			return errclass.RateLimitedf(0, "%s: the server is throttling (%s, HTTP %d): %s", what, code, status, api.ErrorMessage())
		case expiredCodes[code]:
			return errclass.AuthExpiredf("%s: the credentials expired (%s): refresh session_token or the credentials", what, code)
		case hints[code] != "":
			return errclass.Permanentf("%s: %s (%s)", what, hints[code], code)
		case status >= 500:
			return errclass.Transientf("%s: server error (%s, HTTP %d): %s", what, code, status, api.ErrorMessage())
		case status == 403:
			return errclass.Permanentf("%s: access denied (%s, HTTP 403): check the credentials and their permissions", what, code)
		case status == 404:
			// HEAD requests carry no error body: "NotFound".
			return errclass.Permanentf("%s: not found (%s, HTTP 404): check bucket, key and path_prefix", what, code)
		case status == 400 && code == "RequestTimeout":
			return errclass.Transientf("%s: the server timed out waiting for the request", what)
		}
		return errclass.Permanentf("%s: %s: %s", what, code, api.ErrorMessage())
	}
	switch {
	case status == 503 || status == 429:
		return errclass.RateLimitedf(0, "%s: the server is throttling (HTTP %d)", what, status)
	case status >= 500:
		return errclass.Transientf("%s: server error (HTTP %d): %v", what, status, err)
	case status == 403:
		return errclass.Permanentf("%s: access denied (HTTP 403): check the credentials and their permissions", what)
	case status == 404:
		return errclass.Permanentf("%s: not found (HTTP 404): check bucket, key and path_prefix", what)
	}
	if isNetwork(err) {
		return errclass.Wrap(errclass.Transient, fmt.Errorf("%s: %w", what, err))
	}
	return errclass.Wrap(errclass.Permanent, fmt.Errorf("%s: %w", what, err))
}

func isNetwork(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded)
}
