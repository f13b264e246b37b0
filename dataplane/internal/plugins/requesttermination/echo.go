package requesttermination

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/args"
)

// maxHeaders is how many request headers Kong's kong.request.get_headers
// returns by default.
const maxHeaders = 100

// process describes the data plane in the echo (Kong's "kong" record;
// the node id is not known to plugins).
var process = func() map[string]any {
	host, _ := os.Hostname()
	return map[string]any{"worker_pid": os.Getpid(), "hostname": host}
}()

// echoBody is Kong's echo: the message, the data plane, the request as
// Kong's PDK reads it (headers with lower-case names, query arguments,
// the parsed and the raw body, the route's regex captures), and the
// matched route and service.
// Absent values are left out, as Lua's nil is.
func (p *instance) echoBody(ctx pdk.Context) map[string]any {
	r := ctx.Request()
	raw, err := r.Body()
	if err != nil {
		ctx.Logger().Warn("read request body", "error", err)
	}
	req := map[string]any{
		"scheme":   r.Scheme(),
		"host":     r.Host(),
		"port":     r.Port(),
		"headers":  headers(r),
		"query":    luaArgs(args.Decode(r.RawQuery(), args.MaxArgs)),
		"raw_body": string(raw),
		"method":   r.Method(),
		"path":     r.Path(),
	}
	unnamed, named := ctx.URICaptures()
	if unnamed == nil {
		unnamed, named = map[int]string{}, map[string]string{}
	}
	req["uri_captures"] = map[string]any{"unnamed": unnamed, "named": named}
	if body, ok := parseBody(r.Header("Content-Type"), raw); ok {
		req["body"] = body
	}
	out := map[string]any{"kong": process, "request": req}
	if p.message != nil {
		out["message"] = *p.message
	}
	if p.env != nil {
		if id := ctx.RouteID(); id != "" {
			if route, ok := p.env.Entity("routes", id); ok {
				out["matched_route"] = route
			}
		}
		if id := ctx.ServiceID(); id != "" {
			if svc, ok := p.env.Entity("services", id); ok {
				out["matched_service"] = svc
			}
		}
	}
	return out
}

// headers returns the request headers as kong.request.get_headers does:
// lower-case names, a string for one value and an array for several.
func headers(r pdk.Request) map[string]any {
	out := map[string]any{}
	n := 0
	r.Headers(func(name, value string) bool {
		if n == maxHeaders {
			return false
		}
		n++
		name = strings.ToLower(name)
		switch cur := out[name].(type) {
		case nil:
			out[name] = value
		case string:
			out[name] = []string{cur, value}
		case []string:
			out[name] = append(cur, value)
		}
		return true
	})
	return out
}

// luaArgs renders arguments as Kong's tables: a string, true for a bare
// name, an array for several values.
func luaArgs(a args.Args) map[string]any {
	out := make(map[string]any, len(a))
	for _, arg := range a {
		if len(arg.Values) == 1 {
			out[arg.Name] = luaValue(arg.Values[0])
			continue
		}
		vs := make([]any, len(arg.Values))
		for i, v := range arg.Values {
			vs[i] = luaValue(v)
		}
		out[arg.Name] = vs
	}
	return out
}

func luaValue(v args.Value) any {
	if v.Bare {
		return true
	}
	return v.S
}

// parseBody is kong.request.get_body: a form body as arguments, a JSON
// object or array decoded, a multipart form's fields; false for another
// or a missing content type, and for a body that does not parse.
func parseBody(contentType string, raw []byte) (any, bool) {
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "application/x-www-form-urlencoded"):
		return luaArgs(args.Decode(string(raw), args.MaxArgs)), true
	case strings.Contains(ct, "application/json"):
		var v any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		switch v.(type) {
		case map[string]any, []any:
			return v, true
		}
		return nil, false
	case strings.Contains(ct, "multipart/form-data"):
		return multipartFields(contentType, raw)
	}
	return nil, false
}

// multipartFields returns a multipart form's parts by name: the value of
// a part, an array for a repeated name.
func multipartFields(contentType string, raw []byte) (any, bool) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	out := map[string]any{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out, true
		}
		if err != nil {
			return nil, false
		}
		value, err := io.ReadAll(part)
		if err != nil {
			return nil, false
		}
		name := part.FormName()
		switch cur := out[name].(type) {
		case nil:
			out[name] = string(value)
		case string:
			out[name] = []string{cur, string(value)}
		case []string:
			out[name] = append(cur, string(value))
		}
	}
}
