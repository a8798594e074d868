package webhooks

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sqlflow/sqlflow-host/host/config"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/webhookinbox"
)

// Key is the source key holding a source's webhooks block.
const Key = "webhooks"

// Source is a pipeline source with a webhooks block.
type Source struct {
	// Conn is the source.
	Conn *config.Connector
	// Settings is its block, with a relative inbox path made absolute
	// (relative to the pipeline file).
	Settings webhookinbox.Settings
}

// FromPipeline finds the source with a webhooks block: the one named name,
// or, when name is empty, the only one. Problems are config errors naming
// the file, line and field.
func FromPipeline(p *config.Pipeline, name string) (*Source, error) {
	var with []string
	for _, n := range p.SourceNames {
		if _, ok := p.Sources[n].Config[Key]; ok {
			with = append(with, n)
		}
	}
	sort.Strings(with)
	if name == "" {
		switch len(with) {
		case 0:
			return nil, &config.Error{Pos: config.Position{File: p.Path}, Path: "sources",
				Msg: "no source has a webhooks: block (add one to the shopify source: secret, topics, inbox)"}
		case 1:
			name = with[0]
		default:
			return nil, &config.Error{Pos: config.Position{File: p.Path}, Path: "sources",
				Msg: fmt.Sprintf("several sources have a webhooks: block (%s): name one with --source", strings.Join(with, ", "))}
		}
	}
	c, ok := p.Sources[name]
	if !ok {
		return nil, &config.Error{Pos: config.Position{File: p.Path}, Path: "sources." + name,
			Msg: fmt.Sprintf("no such source; sources with a webhooks: block: %s", strings.Join(with, ", "))}
	}
	raw, ok := c.Config[Key]
	if !ok {
		return nil, c.FieldError(sdk.FieldError{Field: Key, Message: "is missing: this source has no webhooks: block"})
	}
	if c.Type != "shopify" {
		return nil, c.FieldError(sdk.FieldError{Field: Key, Message: fmt.Sprintf("webhooks are received for shopify sources; this source is type %s", c.Type)})
	}
	js, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("source %s webhooks: %w", name, err)
	}
	s, ferrs := webhookinbox.ParseSettings(js, Key)
	if len(ferrs) > 0 {
		var list config.ErrorList
		for _, fe := range ferrs {
			list = append(list, c.FieldError(fe))
		}
		return nil, list
	}
	if s.Inbox.Path != "" && !filepath.IsAbs(s.Inbox.Path) {
		s.Inbox.Path = filepath.Join(p.Dir, s.Inbox.Path)
	}
	return &Source{Conn: c, Settings: s}, nil
}

// RequireSecret returns a config error when the block has no secret: the
// receiver cannot verify deliveries without it.
func (s *Source) RequireSecret() error {
	if s.Settings.Secret != "" {
		return nil
	}
	return s.Conn.FieldError(sdk.FieldError{Field: Key + ".secret",
		Message: "is required to verify deliveries: the app's client secret, e.g. secret: ${SHOPIFY_WEBHOOK_SECRET}"})
}
