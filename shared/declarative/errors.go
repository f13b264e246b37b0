package declarative

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gatehouse.dev/shared/schema"
)

// loc is where an entity sits in the input: the index in the array called
// key of the entity at parent (nil for the top level).
type loc struct {
	parent *loc
	key    string
	index  int
}

// errNode collects the errors of one entity (or of the document, at the
// root) until they are turned into Kong's fields tree.
type errNode struct {
	// fields are schema errors: field name to message, nested tree or
	// per-element list, as schema.Errors holds them.
	fields map[string]any
	// msg is a message about the element itself ("expected a record", or
	// a uniqueness violation); refs are invalid references.
	msg  string
	refs []string
	// sections hold the errors of nested entities, by input key and index.
	sections map[string]map[int]*errNode
	// item is the entity the errors are about, when it got that far.
	item *item
}

// errTree is the errors of one phase of the checks.
type errTree struct {
	root  errNode
	empty bool
}

func newErrTree() *errTree { return &errTree{empty: true} }

func (t *errTree) node(l *loc) *errNode {
	if l == nil {
		return &t.root
	}
	parent := t.node(l.parent)
	if parent.sections == nil {
		parent.sections = map[string]map[int]*errNode{}
	}
	sec := parent.sections[l.key]
	if sec == nil {
		sec = map[int]*errNode{}
		parent.sections[l.key] = sec
	}
	n := sec[l.index]
	if n == nil {
		n = &errNode{}
		sec[l.index] = n
	}
	return n
}

// field records a message for a field of the entity at l (nil: the
// document itself).
func (t *errTree) field(l *loc, name, msg string) {
	n := t.node(l)
	if n.fields == nil {
		n.fields = map[string]any{}
	}
	n.fields[name] = msg
	t.empty = false
}

// fields records the schema errors of an entity.
func (t *errTree) fields(l *loc, it *item, errs map[string]any) {
	n := t.node(l)
	if n.fields == nil {
		n.fields = map[string]any{}
	}
	maps.Copy(n.fields, errs)
	n.item = it
	t.empty = false
}

// message records a message about the element at l itself.
func (t *errTree) message(l *loc, it *item, msg string) {
	n := t.node(l)
	if n.msg == "" {
		n.msg = msg
	} else {
		n.refs = append(n.refs, msg)
	}
	n.item = it
	t.empty = false
}

// reference records an invalid reference of the entity at l.
func (t *errTree) reference(l *loc, it *item, msg string) {
	n := t.node(l)
	n.refs = append(n.refs, msg)
	n.item = it
	t.empty = false
}

// plain turns a node into Kong's JSON shape: a map of field errors with
// nested sections as arrays positioned by index (null holes), a string
// for a message about the element itself, or a list of messages for
// invalid references.
func (n *errNode) plain() any {
	if n.fields == nil && n.sections == nil {
		if n.refs == nil {
			return n.msg
		}
		return n.messages()
	}
	out := make(map[string]any, len(n.fields)+len(n.sections))
	maps.Copy(out, n.fields)
	for k, sec := range n.sections {
		out[k] = sectionList(sec)
	}
	if n.msg != "" || n.refs != nil {
		var list []any
		switch prev := out[schema.EntityKey].(type) {
		case []string:
			for _, s := range prev {
				list = append(list, s)
			}
		case []any:
			list = append(list, prev...)
		}
		out[schema.EntityKey] = append(list, n.messages()...)
	}
	return out
}

func (n *errNode) messages() []any {
	var out []any
	if n.msg != "" {
		out = append(out, n.msg)
	}
	for _, r := range n.refs {
		out = append(out, r)
	}
	return out
}

func sectionList(sec map[int]*errNode) []any {
	last := -1
	for i := range sec {
		last = max(last, i)
	}
	out := make([]any, last+1)
	for i, n := range sec {
		out[i] = n.plain()
	}
	return out
}

// declarativeError builds the code-14 error for a tree of fields.
func declarativeError(fields map[string]any) *schema.Error {
	err := schema.DeclarativeConfig(fields)
	err.Message = "declarative config is invalid: " + luaPretty(fields)
	return err
}

// documentError is the code-14 error for a document that could not be
// read at all: Kong reports it as {error = "..."}.
func documentError(msg string) *schema.Error {
	return declarativeError(map[string]any{"error": msg})
}

// luaPretty renders a value as Penlight's pretty.write(v, "") does in
// Kong's messages: tables as {k=v,...} with sorted keys, arrays with their
// leading run of non-null elements bare and the rest as [i]=v (1-based),
// strings quoted.
func luaPretty(v any) string {
	var b strings.Builder
	writePretty(&b, v)
	return b.String()
}

func writePretty(b *strings.Builder, v any) {
	switch t := v.(type) {
	case map[string]any:
		b.WriteByte('{')
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if isLuaIdent(k) {
				b.WriteString(k)
			} else {
				b.WriteString("[" + strconv.Quote(k) + "]")
			}
			b.WriteByte('=')
			writePretty(b, t[k])
		}
		b.WriteByte('}')
	case []string:
		list := make([]any, len(t))
		for i, s := range t {
			list[i] = s
		}
		writePretty(b, list)
	case []any:
		b.WriteByte('{')
		first := true
		sep := func() {
			if !first {
				b.WriteByte(',')
			}
			first = false
		}
		run := 0
		for run < len(t) && t[run] != nil {
			sep()
			writePretty(b, t[run])
			run++
		}
		for i := run; i < len(t); i++ {
			if t[i] == nil {
				continue
			}
			sep()
			b.WriteString("[" + strconv.Itoa(i+1) + "]=")
			writePretty(b, t[i])
		}
		b.WriteByte('}')
	case string:
		b.WriteString(strconv.Quote(t))
	default:
		b.WriteString(schema.FormatValue(v))
	}
}

func isLuaIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Messages of the cross-entity checks (kong/db/schema/others/declarative_config.lua).

func uniquenessMessage(typ, key string, value any) string {
	return fmt.Sprintf("uniqueness violation: '%s' entity with %s set to '%s' already declared",
		typ, key, schema.FormatValue(value))
}

func referenceMessage(field string, value any, typ string) string {
	text, ok := value.(string)
	if !ok {
		text = compactJSON(value)
	}
	return fmt.Sprintf("invalid reference '%s: %s' (no such entry in '%s')", field, text, typ)
}

// compactJSON encodes v as cjson does in Kong's messages: compact, without
// HTML escaping.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return schema.FormatValue(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// sortedDesc returns the keys of m from the largest down, the order in
// which Kong's flatten_errors drains a table.
func sortedDesc[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	return keys
}

func indicesDesc[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Reverse(keys)
	return keys
}
