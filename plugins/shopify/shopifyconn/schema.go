package shopifyconn

// configSchema is the JSON Schema of the configuration, reported in Spec.
// docs/connectors/shopify.md explains every key at length.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "shopify connector",
  "type": "object",
  "additionalProperties": false,
  "required": ["shop_domain", "access_token"],
  "properties": {
    "shop_domain": {"type": "string", "description": "The shop: my-shop or my-shop.myshopify.com (.myshopify.com is appended when missing)."},
    "access_token": {"type": "string", "writeOnly": true, "description": "The custom app's Admin API access token (shpat_…). Keep it in an environment variable."},
    "api_version": {"type": "string", "default": "2025-01", "pattern": "^([0-9]{4}-(01|04|07|10)|unstable)$"},
    "api": {"type": "string", "enum": ["graphql", "rest"], "default": "graphql"},
    "streams": {"type": "array", "items": {"type": "string", "enum": ["orders", "customers", "products", "inventory_items", "inventory_levels", "locations", "transactions", "fulfillments", "refunds", "discounts", "collections", "metafields"]}, "description": "The objects the source offers; default all. Alias: objects."},
    "objects": {"type": "array", "items": {"type": "string"}, "description": "Alias of streams (the old key)."},
    "page_size": {"type": "integer", "minimum": 1, "maximum": 250, "default": 250, "description": "Records per request; GraphQL pages are made smaller when a query would cost over 1,000 points."},
    "child_page_size": {"type": "integer", "minimum": 1, "maximum": 250, "default": 50, "description": "GraphQL: the most transactions, refunds or fulfillments read per order in one query."},
    "since_id": {"type": "integer", "minimum": 0, "description": "Read only objects with a greater id (the old connector's option)."},
    "incremental_overlap": {"type": "number", "minimum": 0, "maximum": 604800, "default": 300, "description": "Seconds an incremental read reaches back before the stored cursor."},
    "metafields_owner": {"type": "string", "enum": ["shop", "products", "customers", "orders", "collections"], "default": "shop"},
    "endpoint": {"type": "string", "format": "uri", "description": "Send requests here instead of https://<shop_domain> (a proxy or a test server)."},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 30, "description": "Seconds per HTTP request. As a retry knob deprecated: see resilience.timeout."},
    "max_retries": {"type": "integer", "minimum": 0, "deprecated": true, "description": "Mapped by the host onto resilience.retry.max_attempts (N + 1)."},
    "retry_delay": {"type": "number", "minimum": 0, "deprecated": true, "description": "Mapped by the host onto resilience.retry.initial_delay."},
    "webhooks": {"type": "object", "additionalProperties": false, "required": ["topics", "inbox"], "description": "Webhooks received by sqlflow-host webhooks serve; adds the webhook_events stream read from the inbox.",
      "properties": {
        "secret": {"type": "string", "writeOnly": true, "description": "The app's client secret that signs deliveries (only the receiver uses it)."},
        "topics": {"type": "array", "items": {"type": "string"}, "description": "Subscribed topics, e.g. orders/create."},
        "inbox": {"description": "A file (the embedded inbox), or {path}, or {dsn, table} for PostgreSQL.", "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": false, "properties": {"path": {"type": "string"}, "dsn": {"type": "string", "writeOnly": true}, "table": {"type": "string"}}}]},
        "max_body_bytes": {"type": "integer", "minimum": 1024, "maximum": 67108864, "default": 4194304}
      }}
  }
}`
