package restconn_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/rest/restconn"
	"github.com/sqlflow/sqlflow-host/sdk"
)

func TestConfigFieldErrors(t *testing.T) {
	tests := []struct {
		name, cfg, field, msg string
	}{
		{"no url", `{}`, "url", "is required"},
		{"relative url", `{"url": "/v1/items"}`, "url", "absolute"},
		{"method", `{"url": "http://x/y", "method": "PUT"}`, "method", "GET or POST"},
		{"unknown key", `{"url": "http://x/y", "paginate": {}}`, "paginate", `unknown key "paginate"; allowed keys: url, method, headers,`},
		{"misspelt key", `{"url": "http://x/y", "data_pth": "a"}`, "data_pth",
			`unknown key "data_pth" (did you mean data_path?); allowed keys: url, method, headers, params, auth, pagination, data_path, flatten_response, infer_decimals, stream_name, schema, cursor_param, new_fields, max_record_bytes, allow_cross_origin_pagination, timeout, max_retries, retry_delay`},
		{"auth type", `{"url": "http://x/y", "auth": {"type": "kerberos"}}`, "auth.type", "basic, digest"},
		{"basic without username", `{"url": "http://x/y", "auth": {"type": "basic", "password": "p"}}`, "auth.username", "required"},
		{"bearer without token", `{"url": "http://x/y", "auth": {"type": "bearer"}}`, "auth.token", "required"},
		{"api_key without value", `{"url": "http://x/y", "auth": {"type": "api_key"}}`, "auth.key_value", "required"},
		{"api_key in", `{"url": "http://x/y", "auth": {"type": "api_key", "key_value": "k", "in": "cookie"}}`, "auth.in", "header or query"},
		{"oauth2 without token_url", `{"url": "http://x/y", "auth": {"type": "oauth2", "client_id": "a", "client_secret": "b"}}`, "auth.token_url", "required"},
		{"auth key of another type", `{"url": "http://x/y", "auth": {"type": "bearer", "token": "t", "username": "u"}}`, "auth.username", `unknown key "username"; allowed keys: type, token (auth type bearer)`},
		{"auth key misspelt", `{"url": "http://x/y", "auth": {"type": "basic", "username": "u", "pasword": "p"}}`, "auth.pasword",
			`unknown key "pasword" (did you mean password?); allowed keys: type, username, password (auth type basic)`},
		{"pagination type", `{"url": "http://x/y", "pagination": {"type": "pages"}}`, "pagination.type", "one of"},
		{"cursor without path", `{"url": "http://x/y", "pagination": {"type": "cursor"}}`, "pagination.next_token_path", "required"},
		{"page_size", `{"url": "http://x/y", "pagination": {"page_size": 0}}`, "pagination.page_size", "at least 1"},
		{"pagination unknown", `{"url": "http://x/y", "pagination": {"per_page": 5}}`, "pagination.per_page", `unknown key "per_page"; allowed keys: type, page_param,`},
		{"pagination misspelt", `{"url": "http://x/y", "pagination": {"page_sise": 5}}`, "pagination.page_sise", `unknown key "page_sise" (did you mean page_size?); allowed keys: type, page_param,`},
		{"data_path", `{"url": "http://x/y", "data_path": "a..b"}`, "data_path", "dot path"},
		{"schema type", `{"url": "http://x/y", "schema": {"a": "decimal128"}}`, "schema", "unknown type"},
		{"schema entry misspelt", `{"url": "http://x/y", "schema": [{"name": "a", "tyep": "int"}]}`, "schema", `entry 0: unknown key "tyep" (did you mean type?); allowed keys: name, type`},
		{"timeout", `{"url": "http://x/y", "timeout": -1}`, "timeout", "positive"},
		{"max_retries", `{"url": "http://x/y", "max_retries": 1.5}`, "max_retries", "integer"},
		{"flatten", `{"url": "http://x/y", "flatten_response": "yes"}`, "flatten_response", "boolean"},
		{"new_fields", `{"url": "http://x/y", "new_fields": "widen"}`, "new_fields", "fail"},
		{"allow_cross_origin_pagination", `{"url": "http://x/y", "allow_cross_origin_pagination": "yes"}`, "allow_cross_origin_pagination", "boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ferrs, err := restconn.New(nil).Configure(t.Context(), json.RawMessage(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			for _, fe := range ferrs {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("want a field error on %s containing %q, got %v", tt.field, tt.msg, ferrs)
		})
	}
}

// TestOldKeys: configurations of the old connector work unchanged. The
// old retry keys are accepted (the host maps them onto the resilience
// policy) and a pagination block without a type pages by number.
func TestOldKeys(t *testing.T) {
	api := newFakeAPI(t, "page", 5, 2)
	c := configure(t, map[string]any{
		"url": api.url("/v1/items"), "data_path": "data.items",
		"timeout": "10", "max_retries": 3, "retry_delay": 1.0,
		"pagination": map[string]any{"page_param": "page", "size_param": "page_size", "page_size": 2, "cursor_param": "updated_since"},
	})
	rows, _, err := readAll(t, c, sdk.ReadRequest{Stream: "items"})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, rows, 1, 5)
	if q := api.seen()[1].URL.Query(); q.Get("page") != "2" || q.Get("page_size") != "2" {
		t.Fatalf("query %v", q)
	}
	_, _, err = readAll(t, c, sdk.ReadRequest{Stream: "items", CursorField: "id", CursorValue: json.RawMessage("3")})
	if err != nil {
		t.Fatal(err)
	}
	if q := api.seen()[len(api.seen())-1].URL.Query(); q.Get("updated_since") != "3" {
		t.Fatalf("pagination.cursor_param not used: %v", q)
	}
}

func TestStreamName(t *testing.T) {
	for url, want := range map[string]string{
		"https://api.example.com/v1/items":       "items",
		"https://api.example.com/v1/items/?x=1":  "items",
		"https://api.example.com/v1/orders.json": "orders",
		"https://api.example.com":                "api",
	} {
		c := configure(t, map[string]any{"url": url})
		s, _ := c.Discover(t.Context())
		if s[0].Name != want || s[0].Schema != nil {
			t.Errorf("%s: stream %q, want %q", url, s[0].Name, want)
		}
	}
}
