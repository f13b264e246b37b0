package declarative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxYAMLDepth bounds the nesting of a YAML document, as encoding/json
// bounds JSON (10000 levels).
const maxYAMLDepth = 10000

// decode turns a declarative file into generic JSON values: objects become
// map[string]any, arrays []any, numbers json.Number, and strings, booleans
// and null stay as they are, exactly what encoding/json with UseNumber
// produces. JSON is tried first, then YAML, as Kong's unserialize does.
//
// YAML is held to what JSON can say: mapping keys must be strings,
// duplicate keys are rejected, tags other than the core schema's are
// rejected, and the expansion of aliases is bounded (twice the size of the
// input in values), so an alias bomb fails instead of exhausting memory.
// Only the first YAML document is read; a second one is an error.
func decode(data []byte) (any, error) {
	if v, ok := decodeJSON(data); ok {
		return v, nil
	}
	return decodeYAML(data)
}

// decodeJSON reports whether data is a single JSON value.
func decodeJSON(data []byte) (any, bool) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' && trimmed[0] != '[' {
		// Scalars are left to YAML, which reads them the same way; this
		// avoids decoding a YAML file twice for nothing.
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return v, true
}

func decodeYAML(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: expected a single YAML document", extra.Line)
	}
	c := yamlConverter{budget: 2*len(data) + 1000}
	return c.value(&doc, 0)
}

// yamlConverter turns a YAML node tree into JSON values. budget is the
// number of values it may still produce; aliases spend it again each time
// they are expanded.
type yamlConverter struct {
	budget int
}

var errYAMLTooLarge = errors.New("YAML aliases expand to too many values")

func (c *yamlConverter) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, errYAMLTooLarge
	}
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("line %d: exceeded max depth of %d", n.Line, maxYAMLDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", n.Line)
		}
		return c.value(n.Alias, depth+1)
	case yaml.ScalarNode:
		return scalar(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n, depth)
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
}

// mapping converts a mapping, applying merge keys ("<<: *base"): keys the
// mapping gives itself win over merged ones, and among merged mappings the
// first one that gives a key wins, as the YAML merge spec says.
func (c *yamlConverter) mapping(n *yaml.Node, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	lines := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := mappingKey(k)
		if err != nil {
			return nil, err
		}
		if line, dup := lines[key]; dup {
			return nil, fmt.Errorf("line %d: mapping key %q already defined at line %d", k.Line, key, line)
		}
		lines[key] = k.Line
		val, err := c.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	for _, m := range merges {
		if err := c.merge(out, m, depth); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *yamlConverter) merge(out map[string]any, m *yaml.Node, depth int) error {
	m = resolveAlias(m)
	var sources []*yaml.Node
	switch m.Kind { //nolint:exhaustive // only mappings and lists of them merge
	case yaml.MappingNode:
		sources = []*yaml.Node{m}
	case yaml.SequenceNode:
		for _, s := range m.Content {
			s = resolveAlias(s)
			if s.Kind != yaml.MappingNode {
				return fmt.Errorf("line %d: merge key expects a mapping or a list of mappings", s.Line)
			}
			sources = append(sources, s)
		}
	default:
		return fmt.Errorf("line %d: merge key expects a mapping or a list of mappings", m.Line)
	}
	for _, s := range sources {
		v, err := c.value(s, depth+1)
		if err != nil {
			return err
		}
		for k, e := range v.(map[string]any) {
			if _, ok := out[k]; !ok {
				out[k] = e
			}
		}
	}
	return nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// mappingKey accepts string keys only: JSON objects have no other kind.
func mappingKey(k *yaml.Node) (string, error) {
	if k.Kind == yaml.ScalarNode {
		switch k.ShortTag() {
		case "!!str", "!!timestamp", "!!binary":
			return k.Value, nil
		}
	}
	return "", fmt.Errorf("line %d: mapping key %q is not a string", k.Line, k.Value)
}

// scalar converts a scalar by its resolved tag. Integers and floats become
// json.Number holding their decimal form; timestamps and binary data stay
// the text they were written as (Kong's YAML parser does not resolve
// them either).
func scalar(n *yaml.Node) (any, error) {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		switch strings.ToLower(n.Value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	case "!!int":
		plain := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return json.Number(strconv.FormatUint(u, 10)), nil
		}
		if f, err := strconv.ParseFloat(plain, 64); err == nil && !math.IsInf(f, 0) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
		if err == nil || strings.HasPrefix(strings.TrimLeft(n.Value, "+-"), ".") {
			return nil, fmt.Errorf("line %d: %s is not a JSON number", n.Line, n.Value)
		}
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, tag)
	}
	return nil, fmt.Errorf("line %d: invalid %s value %q", n.Line, n.ShortTag(), n.Value)
}
