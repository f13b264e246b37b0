// Package responsetransformer is Kong's response-transformer plugin: it
// removes, renames, replaces, adds and appends response headers, and the
// top-level members of a JSON response body, in that order.
//
// Headers follow Kong's header_transformer: rename, replace and add test
// the headers as the response had them before the plugin changed any
// (Kong reads them into a table first), so removing and renaming the same
// header renames it, and adding a header another rule renamed away adds
// it again. Values are literal (this plugin has no templates).
//
// The body is only buffered when a JSON rule is configured and the
// response's Content-Type is application/json or application/*+json.
// Values are made as Kong's json_value makes them (cjson-escaped, then
// the escaped quotes and slashes restored; a rule without a value adds
// the string "null") and cast by json_types ("number" with Lua's
// tonumber, "boolean" true only for "true"). Members the rules do not
// touch keep their bytes and order; Kong's cjson re-encodes them,
// rounding numbers to 14 digits.
package responsetransformer

import (
	"encoding/json"
	"errors"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
	"gatehouse.dev/dataplane/internal/plugins/internal/jsonobj"
)

// Name is the plugin's name.
const Name = "response-transformer"

// Factory makes response-transformer instances.
type Factory struct{}

// Name returns "response-transformer".
func (Factory) Name() string { return Name }

// jsonRule is one add, replace or append rule of the body: the member
// and its value, prepared once. ok is false when the value does not cast
// (Kong skips such a rule).
type jsonRule struct {
	name  string
	value json.RawMessage
	ok    bool
}

// New reads one plugin entity's rules.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	remove, rename := conf.Record(c, "remove"), conf.Record(c, "rename")
	replace, add, appendR := conf.Record(c, "replace"), conf.Record(c, "add"), conf.Record(c, "append")
	in := &instance{
		removeHeaders:  names(conf.Pairs(remove, "headers")),
		renameHeaders:  conf.Pairs(rename, "headers"),
		replaceHeaders: conf.Pairs(replace, "headers"),
		addHeaders:     conf.Pairs(add, "headers"),
		appendHeaders:  conf.Pairs(appendR, "headers"),
		removeJSON:     names(conf.Pairs(remove, "json")),
		renameJSON:     conf.Pairs(rename, "json"),
		replaceJSON:    jsonRules(replace),
		addJSON:        jsonRules(add),
		appendJSON:     jsonRules(appendR),
	}
	in.bodyRules = len(in.removeJSON) > 0 || len(in.renameJSON) > 0 || len(in.replaceJSON) > 0 ||
		len(in.addJSON) > 0 || len(in.appendJSON) > 0
	seen := map[string]bool{}
	for _, list := range [][]conf.Pair{in.renameHeaders, in.replaceHeaders, in.addHeaders} {
		for _, p := range list {
			key := strings.ToLower(p.Name)
			if !seen[key] {
				seen[key] = true
				in.snapshot = append(in.snapshot, p.Name)
			}
		}
	}
	return in, nil
}

// names returns the names of pairs (Kong's remove lists go through the
// same "name:value" split).
func names(pairs []conf.Pair) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.Name
	}
	return out
}

// jsonRules prepares the json rules of one record with their json_types.
func jsonRules(rec map[string]any) []jsonRule {
	pairs := conf.Pairs(rec, "json")
	if len(pairs) == 0 {
		return nil
	}
	types := conf.Strings(rec, "json_types")
	out := make([]jsonRule, len(pairs))
	for i, p := range pairs {
		typ := ""
		if i < len(types) {
			typ = types[i]
		}
		v, ok := jsonValue(p, typ)
		out[i] = jsonRule{name: p.Name, value: v, ok: ok}
	}
	return out
}

// instance is one configured response-transformer.
type instance struct {
	removeHeaders                             []string
	renameHeaders, replaceHeaders, addHeaders []conf.Pair
	appendHeaders                             []conf.Pair
	removeJSON                                []string
	renameJSON                                []conf.Pair
	replaceJSON, addJSON, appendJSON          []jsonRule
	bodyRules                                 bool
	// snapshot lists the headers rename, replace and add test, read
	// before any change.
	snapshot []string
}

var (
	_ pdk.HeaderFilterer = (*instance)(nil)
	_ pdk.BodyFilterer   = (*instance)(nil)
)

// HeaderFilter applies the header rules; with JSON rules and a JSON
// response it also drops Content-Length, as the body will change.
func (p *instance) HeaderFilter(ctx pdk.Context) {
	resp := ctx.Response()
	var before [][]string
	if len(p.snapshot) > 0 {
		before = make([][]string, len(p.snapshot))
		for i, name := range p.snapshot {
			before[i] = resp.HeaderValues(name)
		}
	}
	had := func(name string) []string {
		for i, n := range p.snapshot {
			if strings.EqualFold(n, name) {
				return before[i]
			}
		}
		return nil
	}
	jsonBody := p.bodyRules && isJSON(resp.Header("Content-Type"))

	for _, name := range p.removeHeaders {
		resp.DelHeader(name)
	}
	for _, r := range p.renameHeaders {
		values := had(r.Name)
		if len(values) == 0 || !r.HasValue {
			continue
		}
		// set_header(new, value) then clear_header(old): renaming a header
		// to itself removes it, as in Kong.
		resp.DelHeader(r.Value)
		for _, v := range values {
			resp.AddHeader(r.Value, v)
		}
		resp.DelHeader(r.Name)
	}
	for _, r := range p.replaceHeaders {
		if len(had(r.Name)) > 0 && r.HasValue {
			resp.SetHeader(r.Name, r.Value)
		}
	}
	for _, r := range p.addHeaders {
		if len(had(r.Name)) == 0 && r.HasValue {
			resp.SetHeader(r.Name, r.Value)
		}
	}
	for _, r := range p.appendHeaders {
		if r.HasValue {
			resp.AddHeader(r.Name, r.Value)
		}
	}
	if jsonBody {
		resp.DelHeader("Content-Length")
	}
}

// WantsBody reports whether the body must be buffered: JSON rules and a
// JSON response.
func (p *instance) WantsBody(ctx pdk.Context) bool {
	return p.bodyRules && isJSON(ctx.Response().Header("Content-Type"))
}

// BodyFilter applies the JSON rules; a body that is not a JSON object is
// left as it is (logged at warn level when it does not parse).
func (p *instance) BodyFilter(ctx pdk.Context, body []byte) []byte {
	out, err := p.transform(body)
	if err != nil {
		if !errors.Is(err, jsonobj.ErrNotObject) {
			ctx.Logger().Warn("body transform failed: failed parsing json body")
		}
		return body
	}
	return out
}

// transform applies the JSON rules in Kong's order: remove, rename,
// replace, add, append.
func (p *instance) transform(body []byte) ([]byte, error) {
	obj, err := jsonobj.Parse(body)
	if err != nil {
		return nil, err
	}
	for _, name := range p.removeJSON {
		obj.Del(name)
	}
	for _, r := range p.renameJSON {
		switch {
		case !r.HasValue || !obj.Has(r.Name):
		case r.Name == r.Value:
			obj.Del(r.Name) // t[new] = t[old]; t[old] = nil
		default:
			obj.Rename(r.Name, r.Value)
		}
	}
	for _, r := range p.replaceJSON {
		if r.ok && obj.Truthy(r.name) {
			obj.Set(r.name, r.value)
		}
	}
	for _, r := range p.addJSON {
		if r.ok && !obj.Truthy(r.name) {
			obj.Set(r.name, r.value)
		}
	}
	for _, r := range p.appendJSON {
		if r.ok {
			obj.Append(r.name, r.value)
		}
	}
	return obj.Bytes(), nil
}

// isJSON is Kong's is_json_body: one of the comma-separated media types,
// parsed as kong.tools.mime_type does (RFC 2045 tokens, parameters, and
// nothing else), is application/json or application/*+json
// (mime_type.includes). The comparison is case-sensitive, as Kong's is:
// "Application/JSON" is not JSON.
func isJSON(contentType string) bool {
	for part := range strings.SplitSeq(contentType, ",") {
		typ, sub, ok := parseMediaType(strings.TrimSpace(part))
		if ok && typ == "application" && (sub == "json" || strings.HasSuffix(sub, "+json")) {
			return true
		}
	}
	return false
}

// parseMediaType parses `type "/" subtype *(spacing ";" spacing
// attribute "=" value)` to the end of s, as Kong's LPeg grammar does.
func parseMediaType(s string) (typ, sub string, ok bool) {
	typ, s = token(s)
	if typ == "" || !strings.HasPrefix(s, "/") {
		return "", "", false
	}
	sub, s = token(s[1:])
	if sub == "" {
		return "", "", false
	}
	for s != "" {
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ";") {
			return "", "", false
		}
		var attr string
		attr, s = token(strings.TrimLeft(s[1:], " \t"))
		if attr == "" || !strings.HasPrefix(s, "=") {
			return "", "", false
		}
		if s, ok = paramValue(s[1:]); !ok {
			return "", "", false
		}
	}
	return typ, sub, true
}

// token splits a leading RFC 2045 token (US-ASCII without controls and
// separators) off s.
func token(s string) (tok, rest string) {
	i := 0
	for i < len(s) && s[i] > 31 && s[i] < 127 && !strings.ContainsRune(`()<>@,;:\"/[]?={} `, rune(s[i])) {
		i++
	}
	return s[:i], s[i:]
}

// paramValue skips a parameter value, a token or a quoted string, and
// returns what follows it. As in Kong's grammar, a backslash is text
// before it is a quoted pair, so a quote always ends the string.
func paramValue(s string) (string, bool) {
	if tok, rest := token(s); tok != "" {
		return rest, true
	}
	if !strings.HasPrefix(s, `"`) {
		return "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[i+1:], true
		case c < 32 || c == 127:
			return "", false
		}
	}
	return "", false
}
