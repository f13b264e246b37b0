package balancer

import (
	"slices"
	"strings"

	"gatehouse.dev/shared/schema"
)

// Request is the view of a request that HashValue reads. The proxy
// implements it over its request; every method is called at most once
// per HashValue, and only for the hash_on or hash_fallback kinds the
// upstream uses.
type Request interface {
	// ConsumerID is the authenticated consumer's id, "" for none.
	ConsumerID() string
	// CredentialID is the authenticated credential's id, "" for none.
	CredentialID() string
	// ClientIP is the client address (after the trusted-IP rules).
	ClientIP() string
	// Header returns the request header's value (several values of one
	// header joined with ", "), and whether the header is present.
	Header(name string) (string, bool)
	// Cookie returns the named cookie's value and whether it is present.
	Cookie(name string) (string, bool)
	// Path is the normalized request path.
	Path() string
	// QueryArg returns the values of the query argument and whether it
	// is present; an argument without "=" has the value "true", as in
	// Kong.
	QueryArg(name string) ([]string, bool)
	// URICapture returns the route path's named or numbered capture and
	// whether it exists.
	URICapture(name string) (string, bool)
}

// HashValue is Kong's get_value_to_hash: the value the upstream's hash_on
// says (consumer id, else credential id; client IP; a header; a cookie; the
// path; a query argument, several values sorted and joined with ","; a
// route capture), or when the request has none, the value of
// hash_fallback. It returns "" when the upstream hashes on nothing or
// neither yields a value; consistent-hashing then hashes "" (every such
// request goes to one address).
//
// For hash_on cookie, a request without the cookie gets a new random
// value, and setCookie is the Set-Cookie header value the proxy must add
// to the response, as Kong does: "<name>=<uuid>; Path=<path>;
// Same-Site=Lax; HttpOnly" (replacing a Set-Cookie of the upstream for
// the same name). HashValue is computed once per request: retries pass
// the same value to Pick.
func (b *Balancer) HashValue(r Request) (value, setCookie string) {
	s := b.spec
	for _, src := range [2]hashSource{s.hashOn, s.fallback} {
		if src.kind == "none" {
			return "", ""
		}
		switch src.kind {
		case "consumer":
			if id := r.ConsumerID(); id != "" {
				return id, ""
			}
			if id := r.CredentialID(); id != "" {
				return id, ""
			}
		case "ip":
			return r.ClientIP(), ""
		case "header":
			if v, ok := r.Header(src.param); ok {
				return v, ""
			}
		case "cookie":
			if v, ok := r.Cookie(s.cookie); ok {
				return v, ""
			}
			id := schema.NewUUID()
			return id, s.cookie + "=" + id + "; Path=" + s.cookiePath + "; Same-Site=Lax; HttpOnly"
		case "path":
			return r.Path(), ""
		case "query_arg":
			if vs, ok := r.QueryArg(src.param); ok {
				return joinSorted(vs), ""
			}
		case "uri_capture":
			if v, ok := r.URICapture(src.param); ok {
				return v, ""
			}
		}
	}
	return "", ""
}

// joinSorted joins query argument values as Kong does: one value as is,
// several sorted and joined with ",".
func joinSorted(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	sorted := slices.Clone(vs)
	slices.Sort(sorted)
	return strings.Join(sorted, ",")
}
