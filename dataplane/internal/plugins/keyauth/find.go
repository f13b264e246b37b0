package keyauth

import (
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/args"
)

// kind is what Kong's Lua sees for a key name: nothing, one string, a
// table (the name repeated), or another value (a bare query argument is
// the boolean true, a JSON number...), which Kong skips.
type kind int

const (
	absent kind = iota
	single
	repeated
	other
)

// find looks for the key as Kong does: for each key name in order, in the
// headers, then the query string, then the body, as configured; the first
// string found is the key ("" counts, and is then no key), a repeated one
// answers "Duplicate API key found". With hide_credentials the key name
// is removed from the upstream request's headers, query string and (with
// key_in_body) body.
func (p *plugin) find(ctx pdk.Context) (key, msg string) {
	r := ctx.Request()
	var query args.Args
	queryRead := false
	var b *body
	for _, name := range p.keyNames {
		k, v := absent, ""
		if p.inHeader {
			k, v = headerKey(r, name)
		}
		if k == absent && p.inQuery {
			if !queryRead {
				query, queryRead = args.Decode(r.RawQuery(), args.MaxArgs), true
			}
			k, v = queryKey(query, name)
		}
		if k == absent && p.inBody {
			if b == nil {
				b = readBody(ctx)
			}
			k, v = b.key(name)
		}
		switch k {
		case single:
			if p.hide {
				p.hideKey(ctx, name, b)
			}
			return v, ""
		case repeated:
			return "", msgDuplicate
		case absent, other:
			// Kong skips a value that is not a string: next name.
		}
	}
	return "", ""
}

// headerKey reads a key name from the headers as Kong's headers[name]
// does: ngx.req.get_headers() looks a name up lower-cased with its
// underscores turned into hyphens, so "api_key" reads the Api-Key header
// only (nginx drops a client's header whose name has an underscore).
func headerKey(r pdk.Request, name string) (kind, string) {
	values := r.HeaderValues(headerName(name))
	switch len(values) {
	case 0:
		return absent, ""
	case 1:
		return single, values[0]
	}
	return repeated, ""
}

// headerName is the header a key name is read from.
func headerName(name string) string { return strings.ReplaceAll(name, "_", "-") }

// queryKey reads a key name from decoded arguments: a bare name is Lua's
// true, which is not a key.
func queryKey(a args.Args, name string) (kind, string) {
	values := a.Get(name)
	switch {
	case len(values) == 0:
		return absent, ""
	case len(values) > 1:
		return repeated, ""
	case values[0].Bare:
		return other, ""
	}
	return single, values[0].S
}

// hideKey removes a key name from the upstream request: the header, the
// query argument, and the body field when keys may come in the body.
func (p *plugin) hideKey(ctx pdk.Context, name string, b *body) {
	up := ctx.Upstream()
	// Kong clears the key name as configured (clear_header("api_key")),
	// which leaves the Api-Key header it read the key from: Gatehouse
	// removes that one too rather than leak the key upstream.
	up.DelHeader(name)
	up.DelHeader(headerName(name))
	if q := up.RawQuery(); q != "" {
		up.SetRawQuery(removeArg(q, name))
	}
	if !p.inBody {
		return
	}
	if b == nil {
		b = readBody(ctx)
	}
	if out, ok := b.without(name); ok {
		up.SetBody(out)
	}
}

// removeArg drops the arguments called name from a raw query string and
// keeps the others as they were written.
func removeArg(raw, name string) string {
	var out strings.Builder
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, _, _ := strings.Cut(pair, "=")
		if pair == "" || args.Unescape(key) == name {
			continue
		}
		if out.Len() > 0 {
			out.WriteByte('&')
		}
		out.WriteString(pair)
	}
	return out.String()
}
