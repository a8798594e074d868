package restconn

// configSchema is the JSON Schema of the configuration, reported in Spec.
// docs/connectors/rest.md explains every key at length.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "rest connector",
  "type": "object",
  "additionalProperties": false,
  "required": ["url"],
  "properties": {
    "url": {"type": "string", "format": "uri", "description": "The endpoint's absolute http(s) URL; its own query parameters are kept."},
    "method": {"type": "string", "enum": ["GET", "POST"], "default": "GET", "description": "POST sends params (and the pagination and cursor parameters) as a JSON body."},
    "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    "params": {"type": "object", "description": "Query parameters (GET; a list repeats the parameter) or JSON body fields (POST)."},
    "auth": {
      "type": "object",
      "required": ["type"],
      "properties": {
        "type": {"type": "string", "enum": ["basic", "digest", "bearer", "api_key", "oauth2"]},
        "username": {"type": "string"}, "password": {"type": "string"},
        "token": {"type": "string"},
        "key_name": {"type": "string", "default": "X-API-Key"}, "key_value": {"type": "string"},
        "in": {"type": "string", "enum": ["header", "query"], "default": "header"},
        "token_url": {"type": "string", "format": "uri"}, "client_id": {"type": "string"}, "client_secret": {"type": "string"},
        "scopes": {"type": ["array", "string"], "items": {"type": "string"}},
        "endpoint_params": {"type": "object"},
        "auth_style": {"type": "string", "enum": ["auto", "header", "params"], "default": "auto"}
      }
    },
    "pagination": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "type": {"type": "string", "enum": ["none", "page", "offset", "cursor", "next_url", "link_header"], "description": "Default: page when the block is given, none without it."},
        "page_param": {"type": "string", "default": "page"},
        "start_page": {"type": "integer", "minimum": 0, "default": 1},
        "size_param": {"type": "string", "description": "Default page_size (page) or limit (offset) when page_size is set."},
        "limit_param": {"type": "string", "description": "Alias of size_param."},
        "page_size": {"type": "integer", "minimum": 1},
        "offset_param": {"type": "string", "default": "offset"},
        "start_offset": {"type": "integer", "minimum": 0, "default": 0},
        "token_param": {"type": "string", "default": "cursor"},
        "next_token_path": {"type": "string"},
        "next_url_path": {"type": "string", "default": "next"},
        "total_path": {"type": "string"},
        "max_pages": {"type": "integer", "minimum": 1, "description": "Fail the read (PERMANENT) when the API has more pages than this; default: no limit."},
        "cursor_param": {"type": "string", "description": "Old location of the top-level cursor_param."}
      }
    },
    "data_path": {"type": "string", "description": "Dot path to the records; numeric segments index lists. Empty: the body (a list, or one object)."},
    "flatten_response": {"type": "boolean", "default": true},
    "infer_decimals": {"type": "boolean", "default": true, "description": "Infer decimal(38,s) for a field whose numbers on the first page all have s fraction digits (12.50); false infers float64. See docs/types.md."},
    "stream_name": {"type": "string", "description": "Default: the last segment of the URL path."},
    "schema": {
      "description": "Pinned column types: a map of name to type or a list of {name, type}.",
      "oneOf": [
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/type"}},
        {"type": "array", "items": {"type": "object", "required": ["name", "type"], "properties": {"name": {"type": "string"}, "type": {"$ref": "#/$defs/type"}}}}
      ]
    },
    "cursor_param": {"type": "string", "default": "since", "description": "Parameter carrying the stored incremental cursor; \"\" sends none."},
    "new_fields": {"type": "string", "enum": ["fail", "ignore"], "default": "fail"},
    "max_record_bytes": {"type": "integer", "minimum": 1024, "maximum": 1073741824, "default": 67108864, "description": "The most bytes one response body may take; a larger one fails the read, naming the request and page."},
    "allow_cross_origin_pagination": {"type": "boolean", "default": false, "description": "Follow next-page links (next_url, link_header) to another origin (scheme, host, port) than url's, sending them no credentials; false fails the read at such a link."},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 30, "description": "Seconds per HTTP request. Deprecated as a retry knob: see resilience.timeout."},
    "max_retries": {"type": "integer", "minimum": 0, "deprecated": true, "description": "Mapped by the host onto resilience.retry.max_attempts (N + 1)."},
    "retry_delay": {"type": "number", "minimum": 0, "deprecated": true, "description": "Mapped by the host onto resilience.retry.initial_delay."}
  },
  "$defs": {
    "type": {"type": "string", "anyOf": [{"enum": ["int64", "float64", "bool", "string", "json", "timestamp", "date"]}, {"pattern": "^\\s*[A-Za-z0-9]+\\s*$", "description": "an alias"}, {"pattern": "^\\s*([Dd][Ee][Cc][Ii][Mm][Aa][Ll]|[Nn][Uu][Mm][Ee][Rr][Ii][Cc])\\s*\\(\\s*[0-9]+\\s*(,\\s*[0-9]+\\s*)?\\)\\s*$", "description": "decimal(p,s): exact, Arrow decimal128"}]}
  }
}`
