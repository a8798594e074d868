package config

import (
	"bytes"
	"encoding/json"
	"sort"

	"gopkg.in/yaml.v3"
)

// ConfigJSON returns Config as a JSON object, for Configure. Keys keep the
// order the file gives them, at every depth (encoding/json would sort a
// map's keys, and for some connectors order carries meaning: the columns
// of the memory connector's inline rows, say).
func (c *Connector) ConfigJSON() ([]byte, error) {
	return c.MarshalConfig(c.Config)
}

// MarshalConfig encodes cfg, a configuration of this connector (Config, or
// a result of Resolve), as a JSON object with keys in file order. Keys the
// file does not hold come last, sorted.
func (c *Connector) MarshalConfig(cfg map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := orderedJSON(&buf, c.node, cfg); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func orderedJSON(buf *bytes.Buffer, n *yaml.Node, v any) error {
	if n != nil {
		n = resolve(n)
	}
	switch val := v.(type) {
	case map[string]any:
		buf.WriteByte('{')
		written := map[string]bool{}
		first := true
		emit := func(k string, child *yaml.Node) error {
			if !first {
				buf.WriteByte(',')
			}
			first = false
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			written[k] = true
			return orderedJSON(buf, child, val[k])
		}
		if n != nil && n.Kind == yaml.MappingNode {
			entries, _ := mappingEntries(n)
			for _, e := range entries {
				k := e.key.Value
				if _, ok := val[k]; !ok || written[k] {
					continue
				}
				if err := emit(k, e.value); err != nil {
					return err
				}
			}
		}
		var rest []string
		for k := range val {
			if !written[k] {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		for _, k := range rest {
			if err := emit(k, nil); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case []any:
		buf.WriteByte('[')
		for i, item := range val {
			if i > 0 {
				buf.WriteByte(',')
			}
			var child *yaml.Node
			if n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
				child = n.Content[i]
			}
			if err := orderedJSON(buf, child, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
}
