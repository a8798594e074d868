package webhookinbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/config"
	"github.com/sqlflow/sqlflow-host/sdk/configkey"
)

// Settings are a source's webhooks: block, as both the receiver and the
// plugin reading the inbox understand it:
//
//	webhooks:
//	  secret: ${SHOPIFY_WEBHOOK_SECRET}      # the app's client secret
//	  topics: [orders/create, orders/updated]
//	  inbox: webhooks.db                     # or {path: FILE}, or {dsn: "${INBOX_DSN}", table: NAME}
//	  max_body_bytes: 4194304
type Settings struct {
	// Secret is the app's client secret that signs deliveries. Only the
	// receiver needs it.
	Secret string
	// Topics are the subscribed topics, e.g. orders/create.
	Topics []string
	// Inbox is where deliveries are stored. A relative Path is relative to
	// the pipeline file's directory.
	Inbox Location
	// MaxBodyBytes is the largest delivery body accepted (413 above it).
	MaxBodyBytes int64
}

// Defaults and bounds of Settings.
const (
	// DefaultMaxBodyBytes is 4 MiB: Shopify sends whole objects (an order
	// with its line items), rarely above a few hundred KiB; the cap keeps
	// a hostile sender from filling memory.
	DefaultMaxBodyBytes = 4 << 20
	minBodyBytes        = 1 << 10
	maxBodyBytes        = 64 << 20
)

var (
	settingsKeys = []string{"secret", "topics", "inbox", "max_body_bytes"}
	inboxKeys    = []string{"path", "dsn", "table"}
	topicRe      = regexp.MustCompile(`^[a-z][a-z_]*(/[a-z][a-z_]*)+$`)
)

// ParseSettings validates a webhooks: block given as JSON. field is the
// block's own key (webhooks), used as the prefix of each error's Field.
func ParseSettings(raw json.RawMessage, field string) (Settings, []sdk.FieldError) {
	s := Settings{MaxBodyBytes: DefaultMaxBodyBytes}
	var errs []sdk.FieldError
	fail := func(f, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Field: field + f, Message: fmt.Sprintf(format, args...)})
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		fail("", "must be a mapping with secret, topics and inbox")
		return s, errs
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !contains(settingsKeys, k) {
			fail("."+k, "%s", configkey.Unknown(k, settingsKeys))
		}
	}
	if v, ok := m["secret"]; ok && !isNull(v) {
		if json.Unmarshal(v, &s.Secret) != nil {
			fail(".secret", "must be a string (the app's client secret, e.g. ${SHOPIFY_WEBHOOK_SECRET})")
		}
	}
	if v, ok := m["topics"]; !ok || isNull(v) {
		fail(".topics", "is required: the subscribed topics, e.g. [orders/create, orders/updated]")
	} else if err := json.Unmarshal(v, &s.Topics); err != nil {
		var one string
		if json.Unmarshal(v, &one) != nil {
			fail(".topics", "must be a list of topics, e.g. [orders/create, orders/updated]")
		} else {
			s.Topics = strings.Split(one, ",")
		}
	}
	seen := map[string]bool{}
	for i, t := range s.Topics {
		t = strings.TrimSpace(t)
		s.Topics[i] = t
		switch {
		case !topicRe.MatchString(t):
			fail(fmt.Sprintf(".topics.%d", i), "%s is not a Shopify topic: write it as Shopify names it, e.g. orders/create", configkey.Quote(t))
		case seen[t]:
			fail(fmt.Sprintf(".topics.%d", i), "%s is listed twice", configkey.Quote(t))
		}
		seen[t] = true
	}
	if len(s.Topics) == 0 && m["topics"] != nil && !isNull(m["topics"]) {
		fail(".topics", "must name at least one topic")
	}
	if v, ok := m["inbox"]; !ok || isNull(v) {
		fail(".inbox", "is required: a file for the embedded inbox (inbox: webhooks.db) or {dsn: \"${INBOX_DSN}\"} for PostgreSQL")
	} else {
		var path string
		var im map[string]json.RawMessage
		switch {
		case json.Unmarshal(v, &path) == nil:
			s.Inbox.Path = strings.TrimSpace(path)
		case json.Unmarshal(v, &im) == nil && im != nil:
			for k, iv := range im {
				var str string
				switch {
				case !contains(inboxKeys, k):
					fail(".inbox."+k, "%s", configkey.Unknown(k, inboxKeys))
					continue
				case json.Unmarshal(iv, &str) != nil:
					fail(".inbox."+k, "must be a string")
					continue
				}
				switch k {
				case "path":
					s.Inbox.Path = strings.TrimSpace(str)
				case "dsn":
					s.Inbox.DSN = strings.TrimSpace(str)
				case "table":
					s.Inbox.Table = str
					if !tableRe.MatchString(str) {
						fail(".inbox.table", "%s: use lower-case letters, digits and _ (at most 41, starting with a letter or _)", configkey.Quote(str))
					}
				}
			}
		default:
			fail(".inbox", "must be a file path or a mapping with path, or dsn (and table)")
		}
		switch {
		case s.Inbox.Path != "" && s.Inbox.DSN != "":
			fail(".inbox", "give path (embedded inbox) or dsn (PostgreSQL), not both")
		case s.Inbox.Path == "" && s.Inbox.DSN == "":
			fail(".inbox", "is empty: give a file (inbox: webhooks.db) or {dsn: \"${INBOX_DSN}\"}")
		case strings.Contains(s.Inbox.Path, "://"):
			fail(".inbox", "looks like a URL: a PostgreSQL inbox is written {dsn: \"${INBOX_DSN}\"} so its password stays a secret")
		case s.Inbox.Table != "" && s.Inbox.DSN == "":
			fail(".inbox.table", "applies to a PostgreSQL inbox (dsn) only")
		}
	}
	if v, ok := m["max_body_bytes"]; ok && !isNull(v) {
		var n float64
		if json.Unmarshal(v, &n) != nil || n != float64(int64(n)) || n < minBodyBytes || n > maxBodyBytes {
			fail(".max_body_bytes", "must be a whole number of bytes from %d to %d", minBodyBytes, maxBodyBytes)
		} else {
			s.MaxBodyBytes = int64(n)
		}
	}
	return s, errs
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ConfigBlock is a webhooks: block as a field of a configuration declared
// with package sdk/config; it decodes with [ParseSettings].
type ConfigBlock struct {
	Settings
}

// UnmarshalConfig reads the block; problems name the key inside it.
func (b *ConfigBlock) UnmarshalConfig(raw json.RawMessage) error {
	s, ferrs := ParseSettings(raw, "")
	if len(ferrs) > 0 {
		errs := make(config.Errors, len(ferrs))
		for i, e := range ferrs {
			errs[i] = sdk.FieldError{Field: strings.TrimPrefix(e.Field, "."), Message: e.Message}
		}
		return errs
	}
	b.Settings = s
	return nil
}

// ConfigSchema describes the block.
func (ConfigBlock) ConfigSchema() map[string]any {
	return map[string]any{"type": "object", "required": []string{"topics", "inbox"}, "properties": map[string]any{
		"secret":         map[string]any{"type": "string", "writeOnly": true},
		"topics":         map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		"inbox":          map[string]any{"type": "string"},
		"max_body_bytes": map[string]any{"type": "integer", "minimum": 1},
	}}
}
