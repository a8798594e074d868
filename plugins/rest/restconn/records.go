package restconn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk/classify/httpclass"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// object is a JSON object that remembers its key order. The first page is
// decoded into objects so that columns come in the order the API sends
// them; later pages, whose schema is fixed, are decoded into plain maps,
// which is faster.
type object struct {
	keys []string
	vals map[string]any
}

// decodeBody parses a response body. Numbers stay json.Number so integers
// keep every digit. ordered decodes objects as *object.
func decodeBody(body []byte, ordered bool) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var (
		v   any
		err error
	)
	if ordered {
		v, err = readOrdered(dec)
	} else {
		err = dec.Decode(&v)
	}
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// readOrdered reads one JSON value with objects as *object.
func readOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		o := &object{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return o, nil
	case '[':
		list := []any{}
		for dec.More() {
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return list, nil
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// member returns the value of key in an object (map or *object).
func member(v any, key string) (any, bool, bool) {
	switch o := v.(type) {
	case map[string]any:
		x, ok := o[key]
		return x, ok, true
	case *object:
		x, ok := o.vals[key]
		return x, ok, true
	}
	return nil, false, false
}

// keysOf lists an object's keys for messages.
func keysOf(v any) []string {
	switch o := v.(type) {
	case map[string]any:
		return sortedKeys(o)
	case *object:
		return o.keys
	}
	return nil
}

// lookup follows a dot path; numeric segments index lists. found is false
// when a segment is missing; err explains a path that cannot apply (a
// segment into a scalar, a non-numeric segment into a list).
func lookup(v any, p path_) (val any, found bool, err error) {
	cur := v
	for i, seg := range p.Parts {
		where := "the response"
		if i > 0 {
			where = strconv.Quote(strings.Join(p.Parts[:i], "."))
		}
		switch c := cur.(type) {
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil {
				return nil, false, fmt.Errorf("%s is a list, so the next segment must be an index, got %q", where, seg)
			}
			if n < 0 || n >= len(c) {
				return nil, false, fmt.Errorf("%s is a list of %d, so index %d is out of range", where, len(c), n)
			}
			cur = c[n]
		case map[string]any, *object:
			x, ok, _ := member(c, seg)
			if !ok {
				return nil, false, nil
			}
			cur = x
		case nil:
			return nil, false, nil
		default:
			return nil, false, fmt.Errorf("%s is %s, not an object or a list", where, kindName(c))
		}
	}
	return cur, true, nil
}

// extractRecords returns the records of a decoded body: the list at
// dataPath (or the body itself), a single object as one record, null as
// none.
func extractRecords(body any, dataPath path_) ([]any, error) {
	v := body
	if len(dataPath.Parts) > 0 {
		x, found, err := lookup(body, dataPath)
		if err != nil {
			return nil, errclass.Permanentf("data_path %q: %v", dataPath.Text, err)
		}
		if !found {
			return nil, errclass.Permanentf("data_path %q: %s", dataPath.Text, missingMessage(body, dataPath))
		}
		v = x
	}
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any, *object:
		return []any{x}, nil
	case nil:
		return nil, nil
	default:
		where := "the response"
		if len(dataPath.Parts) > 0 {
			where = "the value at data_path " + strconv.Quote(dataPath.Text)
		}
		return nil, errclass.Permanentf("%s is %s, not a list of records or an object", where, kindName(x))
	}
}

// missingMessage says which segment of p is missing and what is there.
func missingMessage(body any, p path_) string {
	cur := body
	for i, seg := range p.Parts {
		x, ok, isObj := member(cur, seg)
		if !isObj {
			break
		}
		if !ok {
			where := "the response"
			if i > 0 {
				where = strconv.Quote(strings.Join(p.Parts[:i], "."))
			}
			keys := keysOf(cur)
			if len(keys) > 12 {
				keys = append(keys[:12:12], "…")
			}
			return fmt.Sprintf("%s has no field %q (its fields: %s)", where, seg, strings.Join(keys, ", "))
		}
		cur = x
	}
	return "not found in the response"
}

func kindName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any, *object:
		return "an object"
	default:
		return fmt.Sprintf("%T", x)
	}
}

// notJSON is the PERMANENT error of a body that does not parse.
func notJSON(what string, body []byte, err error, red *httpclass.Redactor) error {
	snippet := httpclass.Snippet(body, red)
	if snippet == "" {
		snippet = "(empty)"
	}
	return errclass.Permanentf("%s: the response is not valid JSON (%v); it starts: %s", what, err, snippet)
}

// appendJSON renders a decoded value as compact JSON text with object keys
// sorted, whichever way it was decoded.
func appendJSON(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case bool:
		return strconv.AppendBool(buf, x)
	case json.Number:
		return append(buf, x...)
	case string:
		b, _ := json.Marshal(x)
		return append(buf, b...)
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSON(buf, e)
		}
		return append(buf, ']')
	case map[string]any:
		return appendObject(buf, sortedKeys(x), x)
	case *object:
		keys := append([]string(nil), x.keys...)
		sort.Strings(keys)
		return appendObject(buf, keys, x.vals)
	}
	b, _ := json.Marshal(v)
	return append(buf, b...)
}

func appendObject(buf []byte, keys []string, vals map[string]any) []byte {
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		kb, _ := json.Marshal(k)
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = appendJSON(buf, vals[k])
	}
	return append(buf, '}')
}
