package gateway

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/schema"
)

// maxReported bounds how many field errors a ValidationError keeps; a
// configuration that bad is refused whole anyway.
const maxReported = protocol.MaxNackFields

// dataPlaneMode is how a data plane validates what it receives: unknown
// fields whose value is null are ignored, so an older data plane accepts
// entities carrying fields it does not know while they are unset.
var dataPlaneMode = schema.Mode{IgnoreUnknownNulls: true}

// ValidationError reports the entities a configuration was refused for.
type ValidationError struct {
	// Fields maps "<type>.<id>[.<field path>]" to what is wrong there,
	// at most protocol.MaxNackFields of them.
	Fields map[string]string
	// Count is the number of problems found, which may exceed len(Fields).
	Count int
}

// Error summarises the problems: the count and the first in path order.
func (e *ValidationError) Error() string {
	paths := make([]string, 0, len(e.Fields))
	for p := range e.Fields {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var b strings.Builder
	b.WriteString("invalid configuration: ")
	if e.Count == 1 {
		b.WriteString("1 error")
	} else {
		b.WriteString(strconv.Itoa(e.Count) + " errors")
	}
	if len(paths) > 0 {
		b.WriteString(", first: " + paths[0] + ": " + e.Fields[paths[0]])
	}
	return b.String()
}

// problems collects field errors.
type problems struct {
	fields map[string]string
	count  int
}

func (p *problems) add(path, msg string) {
	p.count++
	if p.fields == nil {
		p.fields = map[string]string{}
	}
	if len(p.fields) < maxReported {
		if old, dup := p.fields[path]; dup {
			msg = old + "; " + msg
		}
		p.fields[path] = msg
	}
}

func (p *problems) merge(o problems) {
	for path, msg := range o.fields {
		p.add(path, msg)
	}
	// add counted what merge kept; count what it could not.
	p.count += o.count - len(o.fields)
}

func (p *problems) err() error {
	if p.count == 0 {
		return nil
	}
	return &ValidationError{Fields: p.fields, Count: p.count}
}

// validateAll validates every entity of set and every reference, on
// every CPU.
func (b *Builder) validateAll(set *configset.Set) error {
	type item struct {
		t *entity.Type
		e map[string]any
	}
	var p problems
	items := make([]item, 0, set.Len())
	for _, typ := range set.Types() {
		t := b.catalog.Type(typ)
		if t == nil {
			p.add(typ, "unknown entity type")
			continue
		}
		set.Each(typ, func(e map[string]any) { items = append(items, item{t, e}) })
	}
	workers := min(runtime.GOMAXPROCS(0), max(len(items)/256, 1))
	found := make([]problems, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(items); i += workers {
				b.validateEntity(&found[w], set, items[i].t, items[i].e)
			}
		})
	}
	wg.Wait()
	for _, f := range found {
		p.merge(f)
	}
	return p.err()
}

// validateChanges validates the entities changes upsert, and checks that
// no entity left in next references one they delete.
func (b *Builder) validateChanges(next *configset.Set, changes []protocol.Change) error {
	var p problems
	deleted := map[string]map[string]struct{}{}
	for _, c := range changes {
		t := b.catalog.Type(c.Type)
		if t == nil {
			p.add(c.Type, "unknown entity type")
			continue
		}
		switch c.Op {
		case protocol.OpUpsert:
			b.validateEntity(&p, next, t, c.Entity)
		case protocol.OpDelete:
			if _, still := next.Get(c.Type, c.ID); still {
				continue
			}
			if deleted[c.Type] == nil {
				deleted[c.Type] = map[string]struct{}{}
			}
			deleted[c.Type][c.ID] = struct{}{}
		}
	}
	// One pass over each type that may reference a deleted entity.
	scanned := map[string]bool{}
	for typ := range deleted {
		for _, child := range b.children[typ] {
			if scanned[child.Type.Name] {
				continue
			}
			scanned[child.Type.Name] = true
			b.checkDangling(&p, next, child.Type, deleted)
		}
	}
	return p.err()
}

// checkDangling reports the entities of t that reference a deleted
// entity.
func (b *Builder) checkDangling(p *problems, set *configset.Set, t *entity.Type, deleted map[string]map[string]struct{}) {
	fks := b.refs[t.Name]
	set.Each(t.Name, func(e map[string]any) {
		for _, fk := range fks {
			gone := deleted[fk.Reference]
			if gone == nil {
				continue
			}
			if id := ref(e, fk.Field); id != "" {
				if _, ok := gone[id]; ok {
					p.add(entityPath(t.Name, e)+"."+fk.Field, invalidReference(fk, id))
				}
			}
		}
	})
}

// validateEntity validates e through its type, then its references.
func (b *Builder) validateEntity(p *problems, set *configset.Set, t *entity.Type, e map[string]any) {
	base := entityPath(t.Name, e)
	if errs := t.Validate(e, dataPlaneMode); errs != nil {
		flatten(base, errs, p.add)
	}
	for _, fk := range b.refs[t.Name] {
		id := ref(e, fk.Field)
		if id == "" {
			continue
		}
		if _, ok := set.Get(fk.Reference, id); !ok {
			p.add(base+"."+fk.Field, invalidReference(fk, id))
		}
	}
}

// invalidReference is the message of a foreign key naming a missing
// entity, as Kong's declarative validation words it.
func invalidReference(fk entity.ForeignKey, id string) string {
	return fmt.Sprintf("invalid reference '%s: %s' (no such entry in '%s')", fk.Field, id, fk.Reference)
}

func entityPath(typ string, e map[string]any) string {
	id, _ := e["id"].(string)
	return typ + "." + id
}

// flatten walks a schema.Errors tree as schema.Errors.Messages does,
// giving each message its dotted path under base: entity checks at base
// itself, fields at base.<field>, array elements numbered from 1.
func flatten(base string, errs schema.Errors, add func(path, msg string)) {
	if list, ok := errs[schema.EntityKey].([]string); ok {
		for _, msg := range list {
			add(base, msg)
		}
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		if k != schema.EntityKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		flattenValue(base+"."+k, errs[k], add)
	}
}

func flattenValue(path string, v any, add func(path, msg string)) {
	switch t := v.(type) {
	case string:
		add(path, t)
	case schema.Errors:
		flatten(path, t, add)
	case map[string]any:
		flatten(path, schema.Errors(t), add)
	case []any:
		for i, el := range t {
			if el != nil {
				flattenValue(path+"."+strconv.Itoa(i+1), el, add)
			}
		}
	case []string:
		for _, msg := range t {
			add(path, msg)
		}
	}
}
