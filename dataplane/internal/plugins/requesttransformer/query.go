package requesttransformer

import (
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/args"
)

// transformMethod sets the upstream method; for GET, HEAD and TRACE a
// form body's parameters are also added to the query string (the body
// stays).
func (p *instance) transformMethod(ctx pdk.Context) {
	if p.method == "" {
		return
	}
	up := ctx.Upstream()
	up.SetMethod(p.method)
	if p.method != "GET" && p.method != "HEAD" && p.method != "TRACE" {
		return
	}
	if contentKind(up.Header("Content-Type")) != kindForm {
		return
	}
	body, err := ctx.Request().Body()
	if err != nil {
		ctx.Logger().Warn("read request body", "error", err)
		return
	}
	params := args.Decode(string(body), args.MaxArgs)
	if len(params) == 0 {
		return
	}
	query := args.Decode(up.RawQuery(), args.MaxArgs)
	for _, param := range params {
		for _, v := range param.Values {
			query.Append(param.Name, v)
		}
	}
	up.SetRawQuery(query.Encode())
}

// transformQuery applies the query rules to the query arguments (as the
// templates loaded them) and writes the query string, names sorted.
func (p *instance) transformQuery(ctx pdk.Context, e *env) error {
	if !p.hasQueryRules {
		return nil
	}
	query := e.queryArgs().Clone()
	for _, r := range p.remove.querystring {
		query.Del(r.name)
	}
	for _, r := range p.rename.querystring {
		if _, err := renameArg(&query, r, e); err != nil {
			return err
		}
	}
	for _, r := range p.replace.querystring {
		v, ok, err := r.render(e)
		if err != nil {
			return err
		}
		if !query.Has(r.name) {
			continue
		}
		if ok {
			query.Set(r.name, args.Value{S: v})
		} else {
			query.Del(r.name)
		}
	}
	for _, r := range p.add.querystring {
		v, ok, err := r.render(e)
		if err != nil {
			return err
		}
		if ok && !query.Has(r.name) {
			query.Set(r.name, args.Value{S: v})
		}
	}
	for _, r := range p.append.querystring {
		v, ok, err := r.render(e)
		if err != nil {
			return err
		}
		if ok {
			appendArg(&query, r.name, v)
		}
	}
	ctx.Upstream().SetRawQuery(query.Encode())
	return nil
}

// renameArg is Kong's rename on arguments (since 3.8, #13358): an absent
// argument, or a rename to the same name, changes nothing; otherwise the
// values move to the new name, replacing any there. It reports whether it
// renamed.
func renameArg(a *args.Args, r rule, e *env) (bool, error) {
	newName, ok, err := r.render(e)
	if err != nil {
		return false, err
	}
	vs := a.Get(r.name)
	switch {
	case vs == nil:
		return false, nil
	case !ok:
		return false, errNoName
	case newName == r.name:
		return false, nil
	}
	a.Set(newName, vs...)
	a.Del(r.name)
	return true, nil
}
