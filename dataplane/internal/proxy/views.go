package proxy

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"gatehouse.dev/dataplane/internal/router"
)

// requestView is pdk.Request over the client's request. Every string it
// returns is a copy.
type requestView struct{ x *exchange }

func (r *requestView) Method() string { return strings.Clone(r.x.method) }

func (r *requestView) Scheme() string {
	switch p := r.x.forwardedProto(); p {
	case "http", "https":
		return p
	default:
		return strings.Clone(p)
	}
}

func (r *requestView) Host() string { return strings.Clone(r.x.hostName) }

func (r *requestView) Port() int {
	if v := r.x.trustedHeader("X-Forwarded-Port"); v != nil {
		if n, err := strconv.Atoi(string(v)); err == nil {
			return n
		}
	}
	return r.x.port
}

func (r *requestView) Path() string { return strings.Clone(r.x.normalizedPath()) }

func (r *requestView) RawQuery() string { return strings.Clone(r.x.rawQuery) }

func (r *requestView) Query(name string) (string, bool) {
	vs := queryValues(r.x.rawQuery, name)
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func (r *requestView) QueryValues(name string) []string { return queryValues(r.x.rawQuery, name) }

// Kong's request headers (ngx.req.get_headers) are looked up with
// underscores standing for hyphens, and nginx drops a client header whose
// name has an underscore (underscores_in_headers off, so that X_User
// cannot pass for X-User at an upstream that maps both to X_USER, as CGI
// does): the views never show one, and it is not forwarded.

// lookupName is the header a name looks up.
func lookupName(name string) string {
	if strings.IndexByte(name, '_') < 0 {
		return name
	}
	return strings.ReplaceAll(name, "_", "-")
}

// droppedName reports a client header name nginx would drop.
func droppedName(name []byte) bool { return bytes.IndexByte(name, '_') >= 0 }

func (r *requestView) Header(name string) string {
	return string(r.x.request.Header.Peek(lookupName(name)))
}

func (r *requestView) HeaderValues(name string) []string {
	var out []string
	for _, v := range r.x.request.Header.PeekAll(lookupName(name)) {
		out = append(out, string(v))
	}
	return out
}

func (r *requestView) Headers(fn func(name, value string) bool) {
	for k, v := range r.x.request.Header.All() {
		if droppedName(k) {
			continue
		}
		if !fn(string(k), string(v)) {
			return
		}
	}
}

func (r *requestView) Body() ([]byte, error) {
	if err := r.x.readWholeBody(r.x.s.opts.ClientBodyBufferSize); err != nil {
		return nil, err
	}
	return slices.Clone(r.x.bodyBuf), nil
}

func (r *requestView) HTTPVersion() string { return r.x.httpVersion }

// normalizedPath is the request path in Kong's normal form (it may alias
// the request's buffer).
func (x *exchange) normalizedPath() string {
	if x.matched {
		return x.match.Path
	}
	return router.NormalizePath(x.rawPath)
}

// queryValues returns the values of a query argument: an argument
// without '=' is "true", as in Kong.
func queryValues(query, name string) []string {
	var out []string
	for part := range strings.SplitSeq(query, "&") {
		if part == "" {
			continue
		}
		k, v, hasValue := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if k != name {
			continue
		}
		if !hasValue {
			out = append(out, "true")
			continue
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, strings.Clone(v))
	}
	return out
}

// upstreamView is pdk.Upstream: changes to the upstream request.
type upstreamView struct{ x *exchange }

// SetHeader sets an upstream header; an empty value removes it, as
// ngx.req.set_header does under Kong's kong.service.request.set_header.
func (u *upstreamView) SetHeader(name, value string) {
	if value == "" {
		u.x.edits.del(name)
		return
	}
	u.x.edits.set(name, value)
}

func (u *upstreamView) AddHeader(name, value string) { u.x.edits.add(name, value) }
func (u *upstreamView) DelHeader(name string)        { u.x.edits.del(name) }

func (u *upstreamView) Header(name string) string {
	if strings.EqualFold(name, "Host") && u.x.edits.hostSet {
		return u.x.edits.host
	}
	if v, decided := u.x.edits.lookup(name); decided {
		return v
	}
	if v := u.x.request.Header.Peek(lookupName(name)); len(v) > 0 {
		return string(v)
	}
	v, _ := u.x.edits.added(name)
	return v
}

func (u *upstreamView) SetPath(path string) { u.x.edits.path, u.x.edits.pathSet = path, true }
func (u *upstreamView) Path() string        { return strings.Clone(u.x.upstreamPath()) }

func (u *upstreamView) SetRawQuery(query string) { u.x.edits.query, u.x.edits.querySet = query, true }

func (u *upstreamView) RawQuery() string {
	q, _ := u.x.upstreamQuery()
	return strings.Clone(q)
}

func (u *upstreamView) SetMethod(method string) { u.x.edits.method = strings.ToUpper(method) }

func (u *upstreamView) SetBody(body []byte) {
	u.x.edits.body, u.x.edits.bodySet = slices.Clone(body), true
}

// responseView is pdk.Response over the response to the client.
type responseView struct{ x *exchange }

func (r *responseView) Status() int { return r.x.resp.Header.StatusCode() }

func (r *responseView) Header(name string) string {
	if vs := r.x.resp.Header.PeekAll(name); len(vs) > 0 {
		return string(vs[0])
	}
	return ""
}

func (r *responseView) HeaderValues(name string) []string {
	var out []string
	for _, v := range r.x.resp.Header.PeekAll(name) {
		out = append(out, string(v))
	}
	return out
}

// SetHeader sets a response header; an empty value removes it, as
// assigning "" to ngx.header does under Kong's kong.response.set_header.
func (r *responseView) SetHeader(name, value string) {
	if value == "" {
		r.x.resp.Header.Del(name)
		return
	}
	r.x.resp.Header.Set(name, value)
}

func (r *responseView) AddHeader(name, value string) { r.x.resp.Header.Add(name, value) }
func (r *responseView) DelHeader(name string)        { r.x.resp.Header.Del(name) }
func (r *responseView) FromUpstream() bool           { return r.x.fromUpstream }

// hashView is balancer.Request over the request, for hash_on.
type hashView struct{ x *exchange }

func (h *hashView) ConsumerID() string {
	if h.x.consumer == nil {
		return ""
	}
	return h.x.consumer.ID
}

func (h *hashView) CredentialID() string {
	if h.x.cred == nil {
		return ""
	}
	return h.x.cred.ID
}

func (h *hashView) ClientIP() string { return string(h.x.ipText) }

func (h *hashView) Header(name string) (string, bool) {
	vs := h.x.request.Header.PeekAll(lookupName(name))
	switch len(vs) {
	case 0:
		return "", false
	case 1:
		return string(vs[0]), true
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", "), true
}

func (h *hashView) Cookie(name string) (string, bool) {
	v := h.x.request.Header.Cookie(name)
	if v == nil {
		return "", false
	}
	return string(v), true
}

func (h *hashView) Path() string { return strings.Clone(h.x.normalizedPath()) }

func (h *hashView) QueryArg(name string) ([]string, bool) {
	vs := queryValues(h.x.rawQuery, name)
	return vs, len(vs) > 0
}

func (h *hashView) URICapture(name string) (string, bool) { return h.x.Capture(name) }
