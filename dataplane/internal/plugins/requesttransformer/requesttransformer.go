// Package requesttransformer is Kong's request-transformer plugin: before
// the request goes upstream it replaces the path (replace.uri) and the
// method (http_method), then removes, renames, replaces, adds and appends
// headers, body parameters (x-www-form-urlencoded, JSON and multipart
// bodies) and query arguments, in Kong's order. Rule values are Kong's
// templates ("$(headers.x-id)", "$(query_params.q)",
// "$(uri_captures.user)", "$(shared.key)", "or" defaults), see
// template.go for the subset rendered.
//
// Deliberate differences from Kong: query strings and form bodies are
// written with their names sorted (Kong sorts query strings, and writes
// form bodies in Lua's table order); JSON bodies keep their members'
// order and the bytes of untouched values (cjson re-encodes everything,
// rounding numbers); multipart parts keep their headers but not their
// order (Content-Disposition first). Header templates read the upstream
// request as it stands when they are rendered, where Kong reads a table
// it loaded at the first template.
package requesttransformer

import (
	"fmt"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

// Name is the plugin's name.
const Name = "request-transformer"

// Factory makes request-transformer instances.
type Factory struct{}

// Name returns "request-transformer".
func (Factory) Name() string { return Name }

// rule is one "name:value" element; value is nil when the element has
// no value.
type rule struct {
	name  string
	value *template
}

// render returns the rule's rendered value; ok is false when it has
// none.
func (r rule) render(l lookup) (v string, ok bool, err error) {
	if r.value == nil {
		return "", false, nil
	}
	v, err = r.value.render(l)
	if err != nil {
		return "", false, fmt.Errorf("[request-transformer] failed to render the template %s, error:%w", r.value.src, err)
	}
	return v, true, nil
}

// rules are a record's lists.
type rules struct {
	body, headers, querystring []rule
}

// New compiles one plugin entity's rules and templates.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	in := &instance{
		method:  strings.ToUpper(conf.String(c, "http_method")),
		remove:  readRules(conf.Record(c, "remove")),
		rename:  readRules(conf.Record(c, "rename")),
		replace: readRules(conf.Record(c, "replace")),
		add:     readRules(conf.Record(c, "add")),
		append:  readRules(conf.Record(c, "append")),
	}
	if uri, ok := conf.Record(c, "replace")["uri"].(string); ok && uri != "" {
		in.uri = compile(uri)
	}
	for _, rs := range []rules{in.remove, in.rename, in.replace, in.add, in.append} {
		in.hasBodyRules = in.hasBodyRules || len(rs.body) > 0
		in.hasQueryRules = in.hasQueryRules || len(rs.querystring) > 0
	}
	return in, nil
}

// readRules compiles a record's three lists.
func readRules(rec map[string]any) rules {
	read := func(key string) []rule {
		pairs := conf.Pairs(rec, key)
		out := make([]rule, len(pairs))
		for i, p := range pairs {
			out[i].name = p.Name
			if p.HasValue {
				out[i].value = compile(p.Value)
			}
		}
		return out
	}
	return rules{body: read("body"), headers: read("headers"), querystring: read("querystring")}
}

// instance is one configured request-transformer.
type instance struct {
	method                      string
	uri                         *template
	remove, rename, replace     rules
	add, append                 rules
	hasBodyRules, hasQueryRules bool
}

var _ pdk.Accesser = (*instance)(nil)

// Access transforms the upstream request: path, method, headers, body,
// query string. A template that cannot be rendered answers 500.
func (p *instance) Access(ctx pdk.Context) error {
	e := &env{ctx: ctx}
	if err := p.transformURI(ctx, e); err != nil {
		return err
	}
	p.transformMethod(ctx)
	if err := p.transformHeaders(ctx, e); err != nil {
		return err
	}
	if err := p.transformBody(ctx, e); err != nil {
		return err
	}
	return p.transformQuery(ctx, e)
}

// transformURI replaces the upstream path with replace.uri rendered.
func (p *instance) transformURI(ctx pdk.Context, e *env) error {
	if p.uri == nil {
		return nil
	}
	path, err := p.uri.render(e)
	if err != nil {
		return fmt.Errorf("[request-transformer] failed to render the template %s, error:%w", p.uri.src, err)
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("[request-transformer] path must start with /: %q", path)
	}
	ctx.Upstream().SetPath(path)
	return nil
}
