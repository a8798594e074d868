package httplink_test

import (
	"net/http"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/httplink"
)

func TestRel(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		rel    string
		want   string
	}{
		{"none", nil, "next", ""},
		{"shopify next only", []string{`<https://s.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=eyJsYXN0X2lkIjo0fQ>; rel="next"`},
			"next", "https://s.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=eyJsYXN0X2lkIjo0fQ"},
		{"shopify previous and next", []string{`<https://s/p?page_info=prev1>; rel="previous", <https://s/p?page_info=next1>; rel="next"`},
			"next", "https://s/p?page_info=next1"},
		{"previous asked", []string{`<https://s/p?page_info=prev1>; rel="previous", <https://s/p?page_info=next1>; rel="next"`},
			"previous", "https://s/p?page_info=prev1"},
		{"only previous", []string{`<https://s/p?page_info=prev1>; rel="previous"`}, "next", ""},
		{"unquoted and case", []string{`<https://a/2>; REL=Next`}, "next", "https://a/2"},
		{"several relation types", []string{`<https://a/3>; rel="last next"`}, "next", "https://a/3"},
		{"quoted comma in a parameter", []string{`<https://a/1>; title="a, b; c"; rel="prev", <https://a/2>; rel="next"`}, "next", "https://a/2"},
		{"escaped quote", []string{`<https://a/1>; title="say \"hi\", rel=next"; rel="prev"`}, "next", ""},
		{"second header value", []string{`<https://a/1>; rel="prev"`, `<https://a/2>; rel="next"`}, "next", "https://a/2"},
		{"broken", []string{`<https://a/1; rel="next"`}, "next", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := httplink.Rel(tt.values, tt.rel); got != tt.want {
				t.Fatalf("Rel = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNext(t *testing.T) {
	h := http.Header{}
	h.Add("Link", `<https://a/1>; rel="previous"`)
	h.Add("Link", `<https://a/2>; rel="next"`)
	if got := httplink.Next(h); got != "https://a/2" {
		t.Fatalf("Next = %q", got)
	}
}
