package declarative

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// Format is the encoding of a declarative file.
type Format int

// The formats Marshal writes; Parse reads both.
const (
	JSON Format = iota + 1
	YAML
)

// String returns "json" or "yaml".
func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case YAML:
		return "yaml"
	default:
		return "Format(" + strconv.Itoa(int(f)) + ")"
	}
}

// Marshal encodes the Config as Kong exports one (export_config):
// _format_version "3.0", _transform false (values are stored ones, such as
// hashed passwords, and must not be transformed again), then one flat
// array per type in catalog order. Foreign keys are plain id strings,
// null fields are kept, fields come in schema order (others after, sorted)
// and transient fields are left out. Parse reads the result back into the
// same entities.
func (c *Config) Marshal(f Format) ([]byte, error) {
	var buf bytes.Buffer
	if err := Write(&buf, c, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes c to w in format f, as Config.Marshal encodes it,
// entity by entity.
func Write(w io.Writer, c *Config, f Format) error {
	if f != JSON && f != YAML {
		return fmt.Errorf("encode declarative config: unknown format %v", f)
	}
	e := &emitter{w: w, buf: make([]byte, 0, flushAt+4096)}
	doc := c.exportDoc()
	if f == JSON {
		e.json(doc, 0)
		e.buf = append(e.buf, '\n')
	} else {
		e.yamlMapping(doc.keys, doc.vals, 0)
	}
	e.flush()
	if e.err != nil {
		return fmt.Errorf("encode declarative %v: %w", f, e.err)
	}
	return nil
}

// orderedMap is an object whose keys keep their order.
type orderedMap struct {
	keys []string
	vals []any
}

func (m *orderedMap) add(k string, v any) {
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

func (c *Config) exportDoc() *orderedMap {
	doc := &orderedMap{}
	doc.add(keyFormatVersion, "3.0")
	doc.add(keyTransform, false)
	for _, name := range c.types {
		t := c.cat.Type(name)
		list := c.entities[name]
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = exportEntity(t, e)
		}
		doc.add(name, out)
	}
	return doc
}

// exportEntity orders an entity's fields for export and turns its
// foreign keys into id strings.
func exportEntity(t *entity.Type, e map[string]any) *orderedMap {
	out := &orderedMap{keys: make([]string, 0, len(e)), vals: make([]any, 0, len(e))}
	done := make(map[string]bool, len(e))
	t.Schema.EachField(e, func(f *schema.Field) {
		v, ok := e[f.Name]
		done[f.Name] = true
		if !ok || slices.Contains(t.Transient, f.Name) {
			return
		}
		if f.Type == schema.Foreign {
			if m, isMap := v.(map[string]any); isMap && len(m) == 1 && m["id"] != nil {
				v = m["id"]
			}
		}
		out.add(f.Name, v)
	})
	var rest []string
	for k := range e {
		if !done[k] && !slices.Contains(t.Transient, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		out.add(k, e[k])
	}
	return out
}
