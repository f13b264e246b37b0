package requesttransformer

import (
	"encoding/json"
	"errors"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/args"
	"gatehouse.dev/dataplane/internal/plugins/internal/jsonobj"
)

// Body kinds, by Content-Type (Kong's get_content_type).
const (
	kindNone = iota
	kindJSON
	kindMultipart
	kindForm
)

func contentKind(ct string) int {
	ct = strings.ToLower(ct)
	switch {
	case strings.Contains(ct, "application/json"):
		return kindJSON
	case strings.Contains(ct, "multipart/form-data"):
		return kindMultipart
	case strings.Contains(ct, "application/x-www-form-urlencoded"):
		return kindForm
	}
	return kindNone
}

// errNoName is Lua's "table index is nil": a rename rule whose new name
// is empty.
var errNoName = errors.New("[request-transformer] rename without a new name")

// transformBody applies the body rules to a form, JSON or multipart
// body. The body is read only when such rules exist and the content type
// is one of these.
func (p *instance) transformBody(ctx pdk.Context, e *env) error {
	if !p.hasBodyRules {
		return nil
	}
	ct := ctx.Upstream().Header("Content-Type")
	kind := contentKind(ct)
	if kind == kindNone {
		return nil
	}
	body, err := ctx.Request().Body()
	if err != nil {
		// Kong would go on with an empty body and replace the request's;
		// Gatehouse leaves a body it cannot read alone.
		ctx.Logger().Warn("request-transformer: body not transformed", "error", err)
		return nil
	}
	var (
		out     []byte
		changed bool
	)
	switch kind {
	case kindForm:
		out, changed, err = p.transformForm(body, e)
	case kindMultipart:
		out, changed, err = p.transformMultipart(body, ct, e)
	case kindJSON:
		out, changed, err = p.transformJSON(body, e)
	}
	if err != nil {
		return err
	}
	if changed {
		ctx.Upstream().SetBody(out)
	}
	return nil
}

// transformForm is Kong's transform_url_encoded_body. Remove, rename and
// replace apply only to a non-empty body.
func (p *instance) transformForm(body []byte, e *env) ([]byte, bool, error) {
	params := args.Decode(string(body), args.MaxArgs)
	nonEmpty := len(body) > 0
	changed := false
	if nonEmpty {
		for _, r := range p.remove.body {
			params.Del(r.name)
			changed = true
		}
		for _, r := range p.rename.body {
			renamed, err := renameArg(&params, r, e)
			if err != nil {
				return nil, false, err
			}
			// Kong rewrites the body for a rename only when one happened.
			changed = changed || renamed
		}
		for _, r := range p.replace.body {
			v, ok, err := r.render(e)
			if err != nil {
				return nil, false, err
			}
			if !params.Has(r.name) {
				continue
			}
			if ok {
				params.Set(r.name, args.Value{S: v})
			} else {
				params.Del(r.name)
			}
			changed = true
		}
	}
	for _, r := range p.add.body {
		v, ok, err := r.render(e)
		if err != nil {
			return nil, false, err
		}
		if !params.Has(r.name) {
			if ok {
				params.Set(r.name, args.Value{S: v})
			}
			changed = true
		}
	}
	for _, r := range p.append.body {
		v, ok, err := r.render(e)
		if err != nil {
			return nil, false, err
		}
		if ok {
			appendArg(&params, r.name, v)
		}
		changed = true
	}
	if !changed {
		return nil, false, nil
	}
	return []byte(params.Encode()), true, nil
}

// appendArg is Kong's append_value on an argument: a string becomes
// {string, v}, an array gets v, anything else (absent, a bare name) is
// replaced by {v}.
func appendArg(a *args.Args, name, v string) {
	vs := a.Get(name)
	if len(vs) == 1 && vs[0].Bare {
		a.Set(name, args.Value{S: v})
		return
	}
	a.Append(name, args.Value{S: v})
}

// transformJSON is Kong's transform_json_body on a JSON object. A body
// that does not parse, or is not an object, is left alone; an empty body
// is an empty object.
func (p *instance) transformJSON(body []byte, e *env) ([]byte, bool, error) {
	obj := &jsonobj.Object{}
	nonEmpty := len(body) > 0
	if nonEmpty {
		var err error
		if obj, err = jsonobj.Parse(body); err != nil {
			return nil, false, nil
		}
	}
	changed := false
	if nonEmpty {
		for _, r := range p.remove.body {
			obj.Del(r.name)
			changed = true
		}
		for _, r := range p.rename.body {
			newName, ok, err := r.render(e)
			if err != nil {
				return nil, false, err
			}
			// Kong's rename (since 3.8, #13358) moves a member that Lua
			// holds true (false is not renamed), unless to the same name.
			if !obj.Truthy(r.name) {
				continue
			}
			if !ok {
				return nil, false, errNoName
			}
			if newName != r.name {
				obj.Rename(r.name, newName)
				changed = true
			}
		}
		for _, r := range p.replace.body {
			v, ok, err := r.render(e)
			if err != nil {
				return nil, false, err
			}
			if !obj.Truthy(r.name) {
				continue
			}
			if ok {
				obj.Set(r.name, jsonobj.String(v))
			} else {
				obj.Del(r.name)
			}
			changed = true
		}
	}
	for _, r := range p.add.body {
		v, ok, err := r.render(e)
		if err != nil {
			return nil, false, err
		}
		if !obj.Truthy(r.name) {
			if ok {
				obj.Set(r.name, jsonobj.String(v))
			}
			changed = true
		}
	}
	for _, r := range p.append.body {
		v, ok, err := r.render(e)
		if err != nil {
			return nil, false, err
		}
		if ok {
			obj.Append(r.name, jsonobj.String(v))
		} else {
			appendNothing(obj, r.name)
		}
		changed = true
	}
	if !changed {
		return nil, false, nil
	}
	return obj.Bytes(), true, nil
}

// appendNothing is append_value(current, nil): a string becomes a
// one-element array, tables stay, anything else becomes an empty table
// (cjson writes {}).
func appendNothing(obj *jsonobj.Object, name string) {
	cur, ok := obj.Get(name)
	var probe any
	if ok && json.Unmarshal(cur, &probe) == nil {
		switch probe.(type) {
		case string:
			obj.Set(name, append(append([]byte{'['}, cur...), ']'))
			return
		case []any, map[string]any:
			return
		}
	}
	obj.Set(name, json.RawMessage("{}"))
}

// transformMultipart is Kong's transform_multipart_body: rename, remove,
// replace, add (append does not apply to multipart bodies).
func (p *instance) transformMultipart(body []byte, ct string, e *env) ([]byte, bool, error) {
	f, err := parseForm(body, ct)
	if err != nil {
		return nil, false, nil
	}
	nonEmpty := len(body) > 0
	changed := false
	if nonEmpty {
		for _, r := range p.rename.body {
			newName, ok, err := r.render(e)
			if err != nil {
				return nil, false, err
			}
			v, found := f.get(r.name)
			if !found || ok && newName == r.name {
				continue // Kong: "if para and old_name ~= new_name"
			}
			if !ok {
				return nil, false, errNoName
			}
			f.setSimple(newName, v, true)
			f.delete(r.name)
			changed = true
		}
		for _, r := range p.remove.body {
			f.delete(r.name)
			changed = true
		}
		for _, r := range p.replace.body {
			v, ok, err := r.render(e)
			if err != nil {
				return nil, false, err
			}
			if _, found := f.get(r.name); found {
				f.delete(r.name)
				f.setSimple(r.name, v, ok)
				changed = true
			}
		}
	}
	for _, r := range p.add.body {
		v, ok, err := r.render(e)
		if err != nil {
			return nil, false, err
		}
		if _, found := f.get(r.name); !found {
			f.setSimple(r.name, v, ok)
			changed = true
		}
	}
	if !changed {
		return nil, false, nil
	}
	return f.bytes(), true, nil
}
