package awsclass

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

func apiErr(status int, code string) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "msg"},
		},
	}}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want errclass.Class
		msg  string
	}{
		{apiErr(503, "SlowDown"), errclass.RateLimited, "throttling"},
		{apiErr(503, "ServiceUnavailable"), errclass.RateLimited, ""},
		{apiErr(400, "ThrottlingException"), errclass.RateLimited, ""},
		{apiErr(500, "InternalError"), errclass.Transient, ""},
		{apiErr(400, "ExpiredToken"), errclass.AuthExpired, "expired"},
		{apiErr(404, "NoSuchBucket"), errclass.Permanent, "bucket does not exist"},
		{apiErr(403, "AccessDenied"), errclass.Permanent, "access denied"},
		{apiErr(404, "NoSuchKey"), errclass.Permanent, "object does not exist"},
		{apiErr(403, "InvalidAccessKeyId"), errclass.Permanent, "access_key_id"},
		{apiErr(403, "SignatureDoesNotMatch"), errclass.Permanent, "secret_access_key"},
		{apiErr(404, "NotFound"), errclass.Permanent, "not found"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, errclass.Transient, ""},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, errclass.Transient, ""},
		{errors.New("something else"), errclass.Permanent, ""},
	}
	for _, tc := range cases {
		got := Classify(context.Background(), tc.err, "get s3://b/k")
		if errclass.Of(got) != tc.want || !strings.Contains(got.Error(), tc.msg) || !strings.HasPrefix(got.Error(), "get s3://b/k") {
			t.Errorf("Classify(%v) = %v (%v), want %v containing %q", tc.err, got, errclass.Of(got), tc.want, tc.msg)
		}
	}
	if Classify(context.Background(), nil, "x") != nil {
		t.Error("Classify(nil) is not nil")
	}
}
