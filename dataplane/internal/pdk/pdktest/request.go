package pdktest

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// Request is a fake pdk.Request: the client's request as NewContext and
// the With methods of Context built it. It is read-only for plugins.
type Request struct {
	method, scheme, host string
	port                 int
	path, rawQuery       string
	header               http.Header
	order                []field // headers in the order they were added
	body                 []byte
	bodyErr              error
	bodyRead             bool
	httpVersion          string
}

type field struct{ name, value string }

// newRequest parses rawURL ("http://host:port/path?query", or a path
// alone for http://localhost). It panics on an invalid URL: the URL is
// the test's own.
func newRequest(method, rawURL string) *Request {
	if strings.HasPrefix(rawURL, "/") {
		rawURL = "http://localhost" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		panic("pdktest: invalid URL " + rawURL + ": " + err.Error())
	}
	r := &Request{
		method: strings.ToUpper(method), scheme: u.Scheme, host: u.Hostname(),
		path: u.EscapedPath(), rawQuery: u.RawQuery, header: http.Header{}, httpVersion: "1.1",
	}
	if p, err := url.PathUnescape(r.path); err == nil {
		r.path = p
	}
	if r.path == "" {
		r.path = "/"
	}
	switch {
	case u.Port() != "":
		r.port, _ = strconv.Atoi(u.Port())
	case u.Scheme == "https":
		r.port = 443
	default:
		r.port = 80
	}
	return r
}

func (r *Request) addHeader(name, value string) {
	r.header.Add(name, value)
	r.order = append(r.order, field{name, value})
}

// Method is the request method, upper case.
func (r *Request) Method() string { return r.method }

// Scheme is the URL's scheme.
func (r *Request) Scheme() string { return r.scheme }

// Host is the URL's host without the port.
func (r *Request) Host() string { return r.host }

// Port is the URL's port, or the scheme's default.
func (r *Request) Port() int { return r.port }

// Path is the URL's path, unescaped.
func (r *Request) Path() string { return r.path }

// RawQuery is the URL's query string without '?'.
func (r *Request) RawQuery() string { return r.rawQuery }

// Query returns the first value of a query argument, as Kong reads them:
// a bare "?a" gives "true".
func (r *Request) Query(name string) (string, bool) {
	values := queryValues(r.rawQuery, name)
	if len(values) == 0 {
		return "", false
	}
	return values[0], true
}

// QueryValues returns every value of a query argument, in order.
func (r *Request) QueryValues(name string) []string { return queryValues(r.rawQuery, name) }

// Header returns the first value of a header, "" when absent.
func (r *Request) Header(name string) string { return r.header.Get(name) }

// HeaderValues returns every value of a header.
func (r *Request) HeaderValues(name string) []string {
	return append([]string(nil), r.header.Values(name)...)
}

// Headers calls fn for every header in the order they were added, until
// it returns false.
func (r *Request) Headers(fn func(name, value string) bool) {
	for _, f := range r.order {
		if !fn(f.name, f.value) {
			return
		}
	}
}

// Body returns the body WithBody set (nil when none), or the error
// WithBodyError set.
func (r *Request) Body() ([]byte, error) {
	r.bodyRead = true
	if r.bodyErr != nil {
		return nil, r.bodyErr
	}
	return append([]byte(nil), r.body...), nil
}

// BodyRead reports whether a plugin read the body: reading it ends
// request streaming, so plugins should only do so when configured to.
func (r *Request) BodyRead() bool { return r.bodyRead }

// HTTPVersion is "1.1" unless WithHTTPVersion changed it.
func (r *Request) HTTPVersion() string { return r.httpVersion }

// queryValues decodes the values of one argument of a query string as
// ngx.req.get_uri_args does: "+" and %XX are decoded, a bare name is
// "true", "name=" is "".
func queryValues(rawQuery, name string) []string {
	var out []string
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" {
			continue
		}
		key, value, hasValue := strings.Cut(pair, "=")
		if unescape(key) != name {
			continue
		}
		if !hasValue {
			out = append(out, "true")
			continue
		}
		out = append(out, unescape(value))
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// Upstream is a fake pdk.Upstream: the request that would go to the
// service. It starts as a copy of the client's request and records every
// change plugins make.
type Upstream struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
	bodySet                bool
}

func newUpstream(r *Request) *Upstream {
	return &Upstream{
		method: r.method, path: r.path, rawQuery: r.rawQuery,
		header: r.header.Clone(), body: append([]byte(nil), r.body...),
	}
}

// SetHeader replaces a header.
func (u *Upstream) SetHeader(name, value string) { u.header.Set(name, value) }

// AddHeader adds a header value.
func (u *Upstream) AddHeader(name, value string) { u.header.Add(name, value) }

// DelHeader removes a header.
func (u *Upstream) DelHeader(name string) { u.header.Del(name) }

// Header returns the first value of a header as it stands now.
func (u *Upstream) Header(name string) string { return u.header.Get(name) }

// HeaderValues returns every value of a header as it stands now.
func (u *Upstream) HeaderValues(name string) []string {
	return append([]string(nil), u.header.Values(name)...)
}

// HasHeader reports whether the header is present.
func (u *Upstream) HasHeader(name string) bool {
	_, ok := u.header[textproto.CanonicalMIMEHeaderKey(name)]
	return ok
}

// Headers returns a copy of every header.
func (u *Upstream) Headers() http.Header { return u.header.Clone() }

// SetPath replaces the path.
func (u *Upstream) SetPath(path string) { u.path = path }

// Path is the path as it stands now.
func (u *Upstream) Path() string { return u.path }

// SetRawQuery replaces the query string.
func (u *Upstream) SetRawQuery(query string) { u.rawQuery = query }

// RawQuery is the query string as it stands now.
func (u *Upstream) RawQuery() string { return u.rawQuery }

// SetMethod replaces the method.
func (u *Upstream) SetMethod(method string) { u.method = method }

// Method is the method as it stands now.
func (u *Upstream) Method() string { return u.method }

// SetBody replaces the body.
func (u *Upstream) SetBody(body []byte) {
	u.body = append([]byte(nil), body...)
	u.bodySet = true
}

// Body is the body as it stands now.
func (u *Upstream) Body() []byte { return u.body }

// BodySet reports whether a plugin replaced the body.
func (u *Upstream) BodySet() bool { return u.bodySet }
