package keyauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/args"
)

// body is the request body as kong.request.get_body parses it: a form
// (application/x-www-form-urlencoded), a JSON value, or multipart form
// data. A body that cannot be read or parsed is empty (Kong's EMPTY).
type body struct {
	form      args.Args
	json      map[string]any
	jsonOther bool // valid JSON that is not an object
	parts     []part
	boundary  string
	kind      string // "form", "json", "multipart", or "" when empty
}

// part is one part of a multipart body.
type part struct {
	name   string
	header textproto.MIMEHeader
	data   []byte
}

func readBody(ctx pdk.Context) *body {
	r := ctx.Request()
	raw, err := r.Body()
	if err != nil {
		ctx.Logger().Info("Cannot process request body: " + err.Error())
		return &body{}
	}
	ct := strings.ToLower(r.Header("Content-Type"))
	switch {
	case strings.Contains(ct, "application/x-www-form-urlencoded"):
		return &body{kind: "form", form: args.Decode(string(raw), args.MaxArgs)}
	case strings.Contains(ct, "application/json"):
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return &body{}
		}
		switch m := v.(type) {
		case map[string]any:
			return &body{kind: "json", json: m}
		case []any:
			return &body{kind: "json", jsonOther: true}
		}
		return &body{}
	case strings.Contains(ct, "multipart/form-data"):
		return readMultipart(r.Header("Content-Type"), raw)
	}
	return &body{}
}

func readMultipart(contentType string, raw []byte) *body {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return &body{}
	}
	b := &body{kind: "multipart", boundary: params["boundary"]}
	mr := multipart.NewReader(bytes.NewReader(raw), b.boundary)
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return b
		}
		if err != nil {
			return &body{}
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return &body{}
		}
		b.parts = append(b.parts, part{name: p.FormName(), header: p.Header, data: data})
	}
}

// key reads a key name from the body.
func (b *body) key(name string) (kind, string) {
	switch b.kind {
	case "form":
		return queryKey(b.form, name)
	case "json":
		switch v := b.json[name].(type) {
		case nil:
			if _, ok := b.json[name]; ok {
				return other, "" // JSON null
			}
			return absent, ""
		case string:
			return single, v
		case []any, map[string]any:
			return repeated, ""
		default:
			return other, ""
		}
	case "multipart":
		var values []string
		for _, p := range b.parts {
			if p.name == name {
				values = append(values, string(p.data))
			}
		}
		switch len(values) {
		case 0:
			return absent, ""
		case 1:
			return single, values[0]
		}
		return repeated, ""
	}
	return absent, ""
}

// without returns the body re-encoded without the key name, as
// kong.service.request.set_body encodes it, or false for an empty body.
func (b *body) without(name string) ([]byte, bool) {
	switch b.kind {
	case "form":
		f := b.form.Clone()
		f.Del(name)
		return []byte(encodeForm(f)), true
	case "json":
		if b.jsonOther {
			return nil, false
		}
		delete(b.json, name)
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(b.json); err != nil {
			return nil, false
		}
		return bytes.TrimSuffix(out.Bytes(), []byte("\n")), true
	case "multipart":
		var out bytes.Buffer
		w := multipart.NewWriter(&out)
		if err := w.SetBoundary(b.boundary); err != nil {
			return nil, false
		}
		for _, p := range b.parts {
			if p.name == name {
				continue
			}
			pw, err := w.CreatePart(p.header)
			if err != nil {
				return nil, false
			}
			_, _ = pw.Write(p.data)
		}
		if err := w.Close(); err != nil {
			return nil, false
		}
		return out.Bytes(), true
	}
	return nil, false
}

// encodeForm encodes arguments as Kong's encode_args (kong.tools.http):
// names sorted; a repeated name as name[1], name[2]...; a bare name as
// "true"; names and values escaped as LuaSocket's url.escape does.
func encodeForm(a args.Args) string {
	sorted := slices.Clone(a)
	slices.SortStableFunc(sorted, func(x, y args.Arg) int { return strings.Compare(x.Name, y.Name) })
	var out []string
	for _, arg := range sorted {
		if len(arg.Values) == 1 {
			out = append(out, escape(arg.Name)+"="+escape(arg.Values[0].String()))
			continue
		}
		for i, v := range arg.Values {
			out = append(out, escape(arg.Name+"["+strconv.Itoa(i+1)+"]")+"="+escape(v.String()))
		}
	}
	return strings.Join(out, "&")
}

// escape is LuaSocket's url.escape: everything but letters, digits and
// "_" as %xx (lower-case hex).
func escape(s string) string {
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02x", c)
	}
	return b.String()
}
