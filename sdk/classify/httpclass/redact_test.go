package httpclass_test

import (
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
)

func TestRedactURLUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		`FAILED: GET http://bob:ENVURLPWSSS@127.0.0.1:8080/x?a=1`: `FAILED: GET http://***@127.0.0.1:8080/x?a=1`,
		`dial "postgres://etl:s3cr%40t@db:5432/shop"`:             `dial "postgres://***@db:5432/shop"`,
		`https://token@api.example.com/v1`:                        `https://***@api.example.com/v1`,
		`mail bob@example.com about http://host/x`:                `mail bob@example.com about http://host/x`,
	} {
		if got := httpclass.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		if got := httpclass.NewRedactor().Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
