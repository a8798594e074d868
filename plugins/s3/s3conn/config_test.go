package s3conn

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		raw                  string
		bucket, key, prefix  string
		format               string
		pathStyle, hasErrors bool
	}{
		{raw: `{"uri": "s3://b/raw/orders.csv"}`, bucket: "b", key: "raw/orders.csv", format: "auto"},
		{raw: `{"uri": "s3://b/raw/orders/"}`, bucket: "b", prefix: "raw/orders/", format: "auto"},
		{raw: `{"bucket": "b", "path_prefix": "/x", "format": "json"}`, bucket: "b", prefix: "x", format: "jsonl"},
		{raw: `{"bucket": "b", "endpoint_url": "http://127.0.0.1:9000"}`, bucket: "b", format: "auto", pathStyle: true},
		{raw: `{"bucket": "b", "endpoint_url": "http://127.0.0.1:9000", "path_style": false}`, bucket: "b", format: "auto"},
		{raw: `{"bucket": "b", "compression": "GZIP"}`, bucket: "b", format: "auto"},
		{raw: `{"bucket": "b", "compression": "zip"}`, hasErrors: true},
		{raw: `{"uri": "s3://a/x", "bucket": "b"}`, hasErrors: true},
		{raw: `{"bucket": "b", "csv_delimiter": "\""}`, hasErrors: true},
		{raw: `{"bucket": "b", "csv_header": "yes"}`, hasErrors: true},
	}
	for _, tc := range cases {
		cfg, errs := parseConfig(json.RawMessage(tc.raw))
		if tc.hasErrors {
			if len(errs) == 0 {
				t.Errorf("%s: no field errors", tc.raw)
			}
			continue
		}
		if len(errs) > 0 || cfg.Bucket != tc.bucket || cfg.Key != tc.key || cfg.Prefix != tc.prefix || cfg.Format != tc.format || cfg.PathStyle != tc.pathStyle {
			t.Errorf("%s: %+v %v", tc.raw, cfg, errs)
		}
	}
}

// TestParseConfigUnknownKey: an unknown key is a field error at the key
// whose message suggests the closest allowed key, when one is close.
func TestParseConfigUnknownKey(t *testing.T) {
	cases := []struct{ raw, field, want string }{
		{`{"bucket": "b", "endpoint_ulr": "http://x"}`, "endpoint_ulr", `unknown key "endpoint_ulr" (did you mean endpoint_url?); allowed keys: bucket, uri, key,`},
		{`{"bucket": "b", "Regoin": "eu"}`, "Regoin", `unknown key "Regoin" (did you mean region?)`},
		{`{"bucket": "b", "colour": "red"}`, "colour", `unknown key "colour"; allowed keys: bucket, uri,`},
	}
	for _, tc := range cases {
		_, errs := parseConfig(json.RawMessage(tc.raw))
		if len(errs) != 1 || errs[0].Field != tc.field || !strings.HasPrefix(errs[0].Message, tc.want) {
			t.Errorf("%s: field errors %v; want one at %q starting %q", tc.raw, errs, tc.field, tc.want)
		}
	}
}
