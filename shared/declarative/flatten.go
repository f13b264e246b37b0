package declarative

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// report builds the code-14 error from the errors of the phase that
// failed: the whole tree as fields, or, with Options.FlattenErrors, the
// per-entity list of Kong's flatten_errors and the leftover fields.
func (p *parser) report(tree *errTree) *schema.Error {
	if !p.opts.FlattenErrors {
		return declarativeError(rootFields(&tree.root))
	}
	f := flattener{p: p, out: []any{}}
	left := f.document(&tree.root)
	err := declarativeError(left)
	err.FlattenedErrors = f.out
	return err
}

func rootFields(root *errNode) map[string]any {
	out := make(map[string]any, len(root.fields)+len(root.sections))
	maps.Copy(out, root.fields)
	for k, sec := range root.sections {
		out[k] = sectionList(sec)
	}
	return out
}

// flattener is Kong's flatten_errors (kong/db/errors.lua): it walks the
// errors with the input, and for every entity with errors adds
// {entity_type, entity_id, entity_name, entity_tags, entity, errors} to
// out, in Kong's order: entity types and indices from the last down,
// nested entities (ascending) before their parent, and an entity's errors
// by field name from the last down, @entity ones last.
type flattener struct {
	p   *parser
	out []any
}

// document flattens the root and returns what belongs to no entity:
// errors of the document's own keys and of elements that are not records.
func (f *flattener) document(root *errNode) map[string]any {
	left := maps.Clone(root.fields)
	if left == nil {
		left = map[string]any{}
	}
	for _, name := range sortedDesc(root.sections) {
		sec := root.sections[name]
		t := f.p.cat.Type(name)
		input, _ := f.p.doc[name].([]any)
		rest := map[int]*errNode{}
		for _, i := range indicesDesc(sec) {
			m, ok := element(input, i).(map[string]any)
			if !ok || t == nil {
				rest[i] = sec[i]
				continue
			}
			f.entity(t, name, m, sec[i], "", nil)
		}
		if len(rest) > 0 {
			left[name] = sectionList(rest)
		}
	}
	return left
}

func element(list []any, i int) any {
	if i < len(list) {
		return list[i]
	}
	return nil
}

// entity flattens the errors n of one entity given as input. Foreign keys
// given as objects are reduced to their primary key, and their own errors
// are reported for the referenced type; nested entities are removed from
// the entity, get the entity's primary key, and are flattened first.
func (f *flattener) entity(t *entity.Type, typeName string, input map[string]any, n *errNode, parentFK string, parentPK map[string]any) {
	ent := make(map[string]any, len(input)+1)
	maps.Copy(ent, input)
	if n.item != nil && n.item.id != "" && ent["id"] == nil {
		// Kong reports phases after the first on entities that have
		// their generated ids.
		ent["id"] = n.item.id
	}
	if parentFK != "" && parentPK != nil {
		if _, ok := ent[parentFK]; !ok {
			ent[parentFK] = parentPK
		}
	}
	errs := make(map[string]any, len(n.fields))
	maps.Copy(errs, n.fields)
	pk := makePK(ent)
	for _, fk := range f.p.foreignKeys(t) {
		fv, ok := ent[fk.Field].(map[string]any)
		if !ok {
			continue
		}
		if ref := makePK(fv); ref != nil {
			ent[fk.Field] = ref
		} else {
			delete(ent, fk.Field)
		}
		ferr := errs[fk.Field]
		delete(errs, fk.Field)
		if fm, ok := ferr.(map[string]any); ok && len(fm) > 0 {
			if rt := f.p.cat.Type(fk.Reference); rt != nil {
				f.entity(rt, fk.Reference, fv, &errNode{fields: fm}, "", nil)
			}
		}
	}
	specs := f.p.childSpecs(t)
	keys := make([]string, 0, len(specs))
	for k := range specs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return specs[a].order - specs[b].order })
	for _, key := range keys {
		cs := specs[key]
		list, ok := ent[key].([]any)
		if !ok {
			continue // not an array: its error stays a field error
		}
		delete(ent, key)
		sec := n.sections[key]
		rest := map[int]*errNode{}
		for _, i := range slices.Sorted(maps.Keys(sec)) {
			m := childInput(element(list, i), cs)
			if m == nil {
				rest[i] = sec[i]
				continue
			}
			f.entity(cs.typ, cs.typ.Name, m, sec[i], cs.fk, pk)
		}
		if len(rest) > 0 {
			errs[key] = sectionList(rest)
		}
	}
	list := categorize(nil, errs, "")
	for _, msg := range n.messages() {
		list = append(list, entityError(msg))
	}
	if len(list) == 0 {
		return
	}
	entry := map[string]any{
		"entity_type": strings.TrimSuffix(typeName, "s"),
		"entity":      ent,
		"errors":      list,
	}
	if name, ok := ent["name"].(string); ok && name != "" {
		entry["entity_name"] = name
	}
	if pk != nil {
		entry["entity_id"] = pk["id"]
	}
	if tags := validTags(ent["tags"]); tags != nil {
		entry["entity_tags"] = tags
	}
	f.out = append(f.out, entry)
}

// childInput is the record a nested element stands for: the element
// itself, or for a membership alias the reference it holds.
func childInput(e any, cs *childSpec) map[string]any {
	switch t := e.(type) {
	case map[string]any:
		return t
	case string:
		if cs.ref != "" {
			return map[string]any{cs.ref: t}
		}
	}
	return nil
}

func makePK(e map[string]any) map[string]any {
	if id, ok := e["id"].(string); ok && schema.IsUUID(id) {
		return map[string]any{"id": id}
	}
	return nil
}

func validTags(v any) []any {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	for _, t := range list {
		if _, ok := t.(string); !ok {
			return nil
		}
	}
	return list
}

// categorize is Kong's categorize_errors: field errors with dotted paths
// (array elements numbered from 1), @entity messages as entity errors.
func categorize(out []any, errs map[string]any, ns string) []any {
	for _, k := range sortedDesc(errs) {
		v := errs[k]
		if k == schema.EntityKey {
			for _, msg := range messageList(v) {
				out = append(out, entityError(msg))
			}
			continue
		}
		out = categorizeValue(out, join(ns, k), v)
	}
	return out
}

func categorizeValue(out []any, path string, v any) []any {
	switch t := v.(type) {
	case string:
		return append(out, map[string]any{"type": "field", "field": path, "message": t})
	case map[string]any:
		return categorize(out, t, path)
	case schema.Errors:
		return categorize(out, t, path)
	case []string:
		for i, el := range slices.Backward(t) {
			out = categorizeValue(out, path+"."+strconv.Itoa(i+1), el)
		}
	case []any:
		for i, el := range slices.Backward(t) {
			if el != nil {
				out = categorizeValue(out, path+"."+strconv.Itoa(i+1), el)
			}
		}
	}
	return out
}

func messageList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func entityError(msg any) map[string]any {
	return map[string]any{"type": "entity", "message": msg}
}

func join(ns, field string) string {
	if ns == "" {
		return field
	}
	return ns + "." + field
}
