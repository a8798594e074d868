package main

import (
	"strings"
	"testing"
)

// TestWebhooksServeBadInput: every problem with the webhooks: block or the
// flags refuses to start (exit 2) with the file, line and field, and the
// secret never appears.
func TestWebhooksServeBadInput(t *testing.T) {
	const secretValue = "shpss_never_print_me"
	t.Setenv("SHOPIFY_WEBHOOK_SECRET", secretValue)
	t.Setenv("SHOPIFY_ACCESS_TOKEN", "shpat_x")
	source := func(block string) string {
		return "version: 1\nsources:\n  shop:\n    type: shopify\n    shop_domain: fake-shop\n    access_token: ${SHOPIFY_ACCESS_TOKEN}\n" + block +
			"destinations:\n  sink: {type: memory}\nflows:\n  - {from: shop, stream: webhook_events, to: sink, target: events}\n"
	}
	tests := []struct {
		name, yaml string
		args       []string
		want       []string
	}{
		{"no secret", source("    webhooks:\n      topics: [orders/create]\n      inbox: inbox.db\n"), nil,
			[]string{"p.yaml:8:7: sources.shop.webhooks.secret: is required to verify deliveries"}},
		{"secret from an unset variable", source("    webhooks:\n      secret: ${NO_SUCH_SECRET_VAR}\n      topics: [orders/create]\n      inbox: inbox.db\n"), nil,
			[]string{"NO_SUCH_SECRET_VAR is not set"}},
		{"no webhooks block", source(""), nil, []string{"no source has a webhooks: block"}},
		{"a topic Shopify does not name", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topics: [Orders Create]\n      inbox: inbox.db\n"), nil,
			[]string{"p.yaml:9:16: sources.shop.webhooks.topics[0]", "is not a Shopify topic"}},
		{"no topics", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      inbox: inbox.db\n"), nil,
			[]string{"sources.shop.webhooks.topics: is required"}},
		{"an inbox URL with a password", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topics: [orders/create]\n      inbox: postgres://u:pw123@db/app\n"), nil,
			[]string{"sources.shop.webhooks.inbox: looks like a URL"}},
		{"an unknown key", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topic: [orders/create]\n      inbox: inbox.db\n"), nil,
			[]string{"sources.shop.webhooks.topic", "topics"}},
		{"a body limit out of range", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topics: [orders/create]\n      inbox: inbox.db\n      max_body_bytes: 10\n"), nil,
			[]string{"sources.shop.webhooks.max_body_bytes: must be a whole number of bytes from 1024 to 67108864"}},
		{"both path and dsn", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topics: [orders/create]\n      inbox: {path: a.db, dsn: x}\n"), nil,
			[]string{"sources.shop.webhooks.inbox: give path (embedded inbox) or dsn (PostgreSQL), not both"}},
		{"an address that cannot be listened on", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topics: [orders/create]\n      inbox: inbox.db\n"),
			[]string{"--addr", "256.0.0.1:80"}, []string{"--addr 256.0.0.1:80"}},
		{"a heartbeat too short", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topics: [orders/create]\n      inbox: inbox.db\n"),
			[]string{"--heartbeat", "1ms"}, []string{"--heartbeat 1ms: must be at least 100ms"}},
		{"a source that is not named", source("    webhooks:\n      secret: ${SHOPIFY_WEBHOOK_SECRET}\n      topics: [orders/create]\n      inbox: inbox.db\n"),
			[]string{"--source", "other"}, []string{"sources.other: no such source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := write(t, dir, "p.yaml", tt.yaml)
			r := cli(t, append([]string{"webhooks", "serve", p}, tt.args...)...)
			expect(t, r, 2, tt.want...)
			if strings.Contains(r.stdout+r.stderr, secretValue) || strings.Contains(r.stdout+r.stderr, "pw123") {
				t.Fatalf("a secret was printed:\n%s", r)
			}
		})
	}
}
