package declarative

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// DefaultMaxSize is the largest declarative file Parse reads when
// Options.MaxSize is zero: 64 MiB.
const DefaultMaxSize = 64 << 20

// Options tunes Parse and ParseDocument.
type Options struct {
	// Now stamps created_at (when an entity has none) and updated_at. The
	// zero value means time.Now().
	Now time.Time
	// MaxSize is the largest input Parse accepts, in bytes: zero means
	// DefaultMaxSize, a negative value no limit.
	MaxSize int
	// MaxEntities is the largest number of entities a file may declare,
	// nested ones included; zero means no limit.
	MaxEntities int
	// FlattenErrors shapes errors as Kong's POST /config?flatten_errors=1:
	// every error that belongs to an entity moves to FlattenedErrors, and
	// Fields and the message keep only the rest (often "{}").
	FlattenErrors bool
}

// The document's own keys.
const (
	keyFormatVersion = "_format_version"
	keyTransform     = "_transform"
	keyComment       = "_comment"
	keyIgnore        = "_ignore"
)

var formatVersions = []string{"1.1", "2.1", "3.0"}

// Parse reads a declarative configuration (JSON, else YAML) and returns it
// flattened, with every entity given its id, its defaults and its foreign
// keys as {"id": ...}, and validated. Any problem is reported as a
// *schema.Error with code 14 (schema.CodeDeclarativeConfig) whose fields
// follow the input's shape, as Kong reports it; see the package
// documentation for the rules. cat is the entity catalog to validate with.
func Parse(data []byte, cat *entity.Catalog, opts Options) (*Config, error) {
	limit := opts.MaxSize
	if limit == 0 {
		limit = DefaultMaxSize
	}
	if limit > 0 && len(data) > limit {
		return nil, documentError(fmt.Sprintf(
			"declarative configuration is too large: %d bytes (the limit is %d bytes)", len(data), limit))
	}
	v, err := decode(data)
	if err != nil {
		return nil, documentError("failed parsing declarative configuration: " + err.Error())
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, documentError("failed parsing declarative configuration: expected an object")
	}
	return ParseDocument(doc, cat, opts)
}

// ParseDocument is Parse for a document already decoded into JSON values
// (Kong's parse_table), such as a POST /config JSON body that carries
// _format_version. doc is not modified. Options.MaxSize does not apply.
func ParseDocument(doc map[string]any, cat *entity.Catalog, opts Options) (*Config, error) {
	p := newParser(cat, opts)
	cfg, tree := p.parse(doc)
	if p.tooMany {
		return nil, documentError(fmt.Sprintf(
			"declarative configuration declares more than %d entities", opts.MaxEntities))
	}
	if tree != nil {
		return nil, p.report(tree)
	}
	return cfg, nil
}

// item is one entity of the document on its way to the Config.
type item struct {
	loc    loc
	typ    *entity.Type
	input  map[string]any // the record as given, for flattened errors
	rec    map[string]any // what is written: without children and comments
	parent *item
	spec   *childSpec // how the item is nested in parent; nil at the top level
	id     string     // primary key as a string
	// randomID says the id was generated at random, so children cannot
	// derive theirs from it (Kong has no parent id at that point).
	randomID bool
	ttl      any
	hasTTL   bool
	extra    map[string]any // schema errors found before the write
	refErrs  []string
	out      map[string]any
	skip     bool // a membership declared twice through aliases
}

func (it *item) addExtra(field, msg string) {
	if it.extra == nil {
		it.extra = map[string]any{}
	}
	it.extra[field] = msg
}

// ref is the foreign-key value pointing at the item.
func (it *item) ref() map[string]any { return map[string]any{"id": it.id} }

type parser struct {
	cat       *entity.Catalog
	opts      Options
	now       time.Time
	transform bool
	doc       map[string]any
	items     []*item // children before their parent, as Kong registers them
	count     int
	tooMany   bool

	specs      map[string]map[string]*childSpec
	fks        map[string][]entity.ForeignKey
	namespaces map[string]string
	byID       map[string]map[string]*item
	byKey      map[string]map[string]*item
	byUnique   map[string]map[string]*item // "type\x00field" → value → item
	members    map[string]bool
}

func newParser(cat *entity.Catalog, opts Options) *parser {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &parser{
		cat:        cat,
		opts:       opts,
		now:        now,
		transform:  true,
		specs:      map[string]map[string]*childSpec{},
		fks:        map[string][]entity.ForeignKey{},
		namespaces: map[string]string{},
		byID:       map[string]map[string]*item{},
		byKey:      map[string]map[string]*item{},
		byUnique:   map[string]map[string]*item{},
		members:    map[string]bool{},
	}
}

// parse runs the checks in Kong's order: the schema of the document and
// of every entity, then primary and endpoint keys and references, then
// the other unique fields. It stops at the first phase that finds errors
// and returns them.
func (p *parser) parse(doc map[string]any) (*Config, *errTree) {
	doc = migrate(doc)
	p.doc = doc
	tree := newErrTree()
	p.checkTop(doc, tree)
	for _, t := range p.cat.Types() {
		v, ok := doc[t.Name]
		if !ok || v == nil {
			continue
		}
		p.walkSection(v, t, nil, nil, nil, t.Name, tree)
		if p.tooMany {
			return nil, nil
		}
	}
	p.index()
	for _, it := range p.items {
		p.resolve(it)
		p.write(it, tree)
	}
	if !tree.empty {
		return nil, tree
	}
	if tree := p.checkKeys(); tree != nil {
		return nil, tree
	}
	if tree := p.checkUnique(); tree != nil {
		return nil, tree
	}
	return p.config(), nil
}

func (p *parser) checkTop(doc map[string]any, tree *errTree) {
	switch v, ok := doc[keyFormatVersion]; {
	case !ok || v == nil:
		tree.field(nil, keyFormatVersion, "required field missing")
	default:
		s, isString := v.(string)
		switch {
		case !isString:
			tree.field(nil, keyFormatVersion, "expected a string")
		case !slices.Contains(formatVersions, s):
			tree.field(nil, keyFormatVersion, "expected one of: 1.1, 2.1, 3.0")
		}
	}
	if v, ok := doc[keyTransform]; ok && v != nil {
		if b, isBool := v.(bool); isBool {
			p.transform = b
		} else {
			tree.field(nil, keyTransform, "expected a boolean")
		}
	}
	checkComment(doc, func(field, msg string) { tree.field(nil, field, msg) })
	for k := range doc {
		switch k {
		case keyFormatVersion, keyTransform, keyComment, keyIgnore:
			continue
		}
		if p.cat.Type(k) == nil {
			tree.field(nil, k, "unknown field")
		}
	}
}

// checkComment checks _comment and _ignore, which Kong allows at the top
// and in every record.
func checkComment(m map[string]any, fail func(field, msg string)) {
	if v, ok := m[keyComment]; ok && v != nil {
		if _, isString := v.(string); !isString {
			fail(keyComment, "expected a string")
		}
	}
	if v, ok := m[keyIgnore]; ok && v != nil {
		if _, isArray := v.([]any); !isArray {
			fail(keyIgnore, "expected an array")
		}
	}
}

// walkSection reads the array called key of the entity at (parent, at),
// or of the document when parent is nil.
func (p *parser) walkSection(v any, t *entity.Type, spec *childSpec, parent *item, at *loc, key string, tree *errTree) {
	arr, ok := v.([]any)
	if !ok {
		tree.field(at, key, "expected an array")
		return
	}
	for i, e := range arr {
		l := loc{parent: at, key: key, index: i}
		p.walkItem(e, t, spec, parent, l, tree)
		if p.tooMany {
			return
		}
	}
}

func (p *parser) walkItem(e any, t *entity.Type, spec *childSpec, parent *item, l loc, tree *errTree) {
	var m map[string]any
	if spec != nil && spec.ref != "" {
		var msg string
		m, msg = p.aliasRecord(e, spec)
		if msg != "" {
			tree.fields(&l, nil, map[string]any{schema.EntityKey: []string{msg}})
			return
		}
	} else {
		var ok bool
		if m, ok = e.(map[string]any); !ok {
			tree.message(&l, nil, "expected a record")
			return
		}
	}
	p.count++
	if p.opts.MaxEntities > 0 && p.count > p.opts.MaxEntities {
		p.tooMany = true
		return
	}
	it := &item{loc: l, typ: t, input: m, parent: parent, spec: spec, rec: make(map[string]any, len(m))}
	if given, ok := e.(map[string]any); ok {
		it.input = given // an alias element as written, not the record made of it
	}
	specs := p.childSpecs(t)
	type pendingChild struct {
		spec *childSpec
		v    any
	}
	var pending []pendingChild
	for k, v := range m {
		if k == keyComment || k == keyIgnore {
			continue
		}
		if cs := specs[k]; cs != nil && (spec == nil || spec.ref == "") {
			if v != nil {
				pending = append(pending, pendingChild{cs, v})
			}
			continue
		}
		it.rec[k] = v
	}
	checkComment(m, it.addExtra)
	p.takeTTL(it)
	p.assignID(it)
	if spec != nil && spec.fk != "" {
		it.rec[spec.fk] = parent.ref()
	}
	slices.SortFunc(pending, func(a, b pendingChild) int { return a.spec.order - b.spec.order })
	for _, c := range pending {
		p.walkSection(c.v, c.spec.typ, c.spec, it, &it.loc, c.spec.key, tree)
		if p.tooMany {
			return
		}
	}
	p.items = append(p.items, it)
}

// takeTTL moves the "ttl" option of a TTL type (credentials that expire)
// out of the record: it is not a schema field but is kept with the entity.
func (p *parser) takeTTL(it *item) {
	if !it.typ.TTL || it.typ.Schema.Field("ttl") != nil {
		return
	}
	v, ok := it.rec["ttl"]
	if !ok {
		return
	}
	delete(it.rec, "ttl")
	if v == nil {
		return
	}
	n, isInt := schema.AsInt(v)
	switch {
	case !isInt:
		it.addExtra("ttl", "expected an integer")
	case n < 0 || n > maxTTL:
		it.addExtra("ttl", fmt.Sprintf("value should be between 0 and %d", maxTTL))
	default:
		it.ttl, it.hasTTL = n, true
	}
}

// maxTTL is the largest ttl Kong accepts, in seconds.
const maxTTL = 100000000

// write runs the type's WriteWith on the resolved record (Prepare,
// Transform unless _transform is false, defaults, validation) and keeps
// the entity, or records its schema errors.
func (p *parser) write(it *item, tree *errTree) {
	if it.skip {
		return
	}
	out, err := it.typ.WriteWith(it.rec, schema.Insert, p.now, entity.WriteOptions{SkipTransform: !p.transform})
	errs := it.extra
	if err != nil {
		if errs == nil {
			errs = make(map[string]any, len(err.Fields))
		}
		maps.Copy(errs, err.Fields)
	}
	if len(errs) > 0 {
		tree.fields(&it.loc, nil, errs)
		return
	}
	if it.hasTTL {
		out["ttl"] = it.ttl
	}
	it.out = out
	if s := it.typ.Schema; len(s.PrimaryKey) != 1 {
		it.id = pkString(s, out)
	} else if it.id == "" {
		it.id = schema.FormatValue(out[s.PrimaryKey[0]])
	}
}

// pkString is Kong's pk_string: the primary key values joined by ":",
// foreign keys by their id.
func pkString(s *schema.Schema, e map[string]any) string {
	if len(s.PrimaryKey) == 1 {
		return valueKey(e[s.PrimaryKey[0]])
	}
	parts := make([]string, len(s.PrimaryKey))
	for i, k := range s.PrimaryKey {
		parts[i] = valueKey(e[k])
	}
	return strings.Join(parts, ":")
}

// valueKey is the text a value is compared by: foreign keys by their id.
func valueKey(v any) string {
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["id"]; ok {
			return schema.FormatValue(id)
		}
	}
	return schema.FormatValue(v)
}
