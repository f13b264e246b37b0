// Package cors is Kong's cors plugin. A preflight request (OPTIONS with
// Origin and Access-Control-Request-Method) is answered by the plugin
// with 200 and the Access-Control-Allow-* headers, unless
// preflight_continue hands it to the service; every other response gets
// Access-Control-Allow-Origin (and credentials, exposed headers) in the
// header-filter phase, with "Vary: Origin" whenever the answer depends on
// the request's origin.
//
// config.origins follows Kong: none or just "*" allows any origin; a
// single plain origin is always sent as it is; otherwise each entry is a
// plain origin compared after normalisation (scheme://host[:port], default
// ports dropped) or, when it holds a character outside [A-Za-z0-9.:/-], a
// regular expression anchored at both ends, matched against the request
// origin's host when the entry has no ':' and against the whole
// normalised origin otherwise. Regular expressions are Go's RE2 (Kong uses
// PCRE): look-around and back-references are refused by the schema.
package cors

import (
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
	"gatehouse.dev/shared/schema"
)

// Name is the plugin's name.
const Name = "cors"

// Header names.
const (
	hOrigin             = "Origin"
	hVary               = "Vary"
	hRequestMethod      = "Access-Control-Request-Method"
	hRequestHeaders     = "Access-Control-Request-Headers"
	hRequestPrivateNet  = "Access-Control-Request-Private-Network"
	hAllowOrigin        = "Access-Control-Allow-Origin"
	hAllowCredentials   = "Access-Control-Allow-Credentials"
	hAllowHeaders       = "Access-Control-Allow-Headers"
	hAllowMethods       = "Access-Control-Allow-Methods"
	hAllowPrivateNet    = "Access-Control-Allow-Private-Network"
	hMaxAge             = "Access-Control-Max-Age"
	hExposeHeaders      = "Access-Control-Expose-Headers"
	defaultAllowMethods = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
)

// Factory makes cors instances.
type Factory struct{}

// Name returns "cors".
func (Factory) Name() string { return Name }

// New compiles one plugin entity's origins and header values.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	in := &instance{
		credentials:       conf.Bool(c, "credentials"),
		privateNetwork:    conf.Bool(c, "private_network"),
		preflightContinue: conf.Bool(c, "preflight_continue"),
		allowOriginAbsent: conf.Bool(c, "allow_origin_absent"),
		methods:           defaultAllowMethods,
	}
	origins := conf.Strings(c, "origins")
	switch {
	case len(origins) == 0 || len(origins) == 1 && origins[0] == "*":
		in.allowAll = true
	case len(origins) == 1 && literal(origins[0]):
		in.single = origins[0]
	default:
		for _, entry := range origins {
			if entry == "*" {
				// Kong returns "*" as soon as its origin cache meets "*",
				// before any entry is matched.
				in.star = true
				continue
			}
			o, err := newOrigin(entry)
			if err != nil {
				return nil, err
			}
			in.origins = append(in.origins, o)
		}
	}
	if h := conf.Strings(c, "headers"); len(h) > 0 {
		in.headers = strings.Join(h, ",")
	}
	if h := conf.Strings(c, "exposed_headers"); len(h) > 0 {
		in.exposed = strings.Join(h, ",")
	}
	if c["methods"] != nil {
		in.methods = strings.Join(conf.Strings(c, "methods"), ",")
	}
	if age, ok := c["max_age"]; ok && age != nil {
		in.maxAge = schema.FormatValue(age)
	}
	return in, nil
}

// instance is one configured cors.
type instance struct {
	// allowAll: no origins, or only "*".
	allowAll bool
	// single is the one configured origin when it is a plain one: sent as
	// Access-Control-Allow-Origin whatever the request's origin.
	single string
	// star: "*" among several origins, which allows any request origin.
	star bool
	// origins are the other entries, in order.
	origins []origin

	headers, exposed, methods, maxAge string

	credentials, privateNetwork, preflightContinue, allowOriginAbsent bool
}

var (
	_ pdk.Accesser       = (*instance)(nil)
	_ pdk.HeaderFilterer = (*instance)(nil)
)

// headerSetter is where the origin and credential headers go: the exit
// response's headers in the access phase, the response in the
// header-filter phase.
type headerSetter interface {
	SetHeader(name, value string)
	AddHeader(name, value string)
	DelHeader(name string)
}

// exitHeaders collects the headers of the preflight answer.
type exitHeaders map[string]string

func (h exitHeaders) SetHeader(name, value string) { h[name] = value }
func (h exitHeaders) AddHeader(name, value string) { h[name] = value }
func (h exitHeaders) DelHeader(name string)        { delete(h, name) }

// preflight reports whether the request is a CORS preflight.
func preflight(r pdk.Request) bool {
	return r.Method() == "OPTIONS" && r.Header(hOrigin) != "" && r.Header(hRequestMethod) != ""
}

// Access answers a preflight request with 200 and the Access-Control
// headers, unless preflight_continue is set.
func (p *instance) Access(ctx pdk.Context) error {
	r := ctx.Request()
	if !preflight(r) || p.preflightContinue {
		return nil
	}
	origin := r.Header(hOrigin)
	h := exitHeaders{}
	allowAll := p.configureOrigin(h, false, origin)
	p.configureCredentials(h, allowAll, false, origin)
	if p.headers != "" {
		h.SetHeader(hAllowHeaders, p.headers)
	} else if acrh := r.Header(hRequestHeaders); acrh != "" {
		h.SetHeader(hAllowHeaders, acrh)
	}
	h.SetHeader(hAllowMethods, p.methods)
	if p.maxAge != "" {
		h.SetHeader(hMaxAge, p.maxAge)
	}
	if p.privateNetwork && r.Header(hRequestPrivateNet) == "true" {
		h.SetHeader(hAllowPrivateNet, "true")
	}
	ctx.Exit(200, nil, h)
	return nil
}

// HeaderFilter adds the origin, credentials and exposed-headers headers
// to every response but a preflight's (answered in Access, or left to the
// service with preflight_continue).
func (p *instance) HeaderFilter(ctx pdk.Context) {
	r := ctx.Request()
	if preflight(r) {
		return
	}
	origin := r.Header(hOrigin)
	if origin == "" && !p.allowOriginAbsent {
		return
	}
	resp := ctx.Response()
	allowAll := p.configureOrigin(resp, true, origin)
	p.configureCredentials(resp, allowAll, true, origin)
	if p.exposed != "" {
		resp.SetHeader(hExposeHeaders, p.exposed)
	}
}

// vary adds "Vary: Origin" to a response, or sets it on an exit.
func vary(h headerSetter, headerFilter bool) {
	if headerFilter {
		h.AddHeader(hVary, hOrigin)
	} else {
		h.SetHeader(hVary, hOrigin)
	}
}

// configureOrigin sets Access-Control-Allow-Origin for a request origin
// ("" when absent) and reports whether any origin is allowed (then the
// header is "*").
func (p *instance) configureOrigin(h headerSetter, headerFilter bool, reqOrigin string) bool {
	if p.allowAll {
		h.SetHeader(hAllowOrigin, "*")
		return true
	}
	vary(h, headerFilter)
	if p.single != "" {
		h.SetHeader(hAllowOrigin, p.single)
		return false
	}
	if reqOrigin != "" {
		if p.star {
			h.SetHeader(hAllowOrigin, "*")
			return true
		}
		domain, host := normalize(reqOrigin)
		for i := range p.origins {
			if p.origins[i].match(domain, host) {
				h.SetHeader(hAllowOrigin, domain)
				return false
			}
		}
	}
	h.DelHeader(hAllowOrigin)
	return false
}

// configureCredentials sets Access-Control-Allow-Credentials; with any
// origin allowed it echoes the request's origin instead of "*", which
// browsers refuse with credentials.
func (p *instance) configureCredentials(h headerSetter, allowAll, headerFilter bool, reqOrigin string) {
	if !p.credentials {
		return
	}
	if !allowAll {
		h.SetHeader(hAllowCredentials, "true")
		return
	}
	if reqOrigin != "" {
		vary(h, headerFilter)
		h.SetHeader(hAllowOrigin, reqOrigin)
		h.SetHeader(hAllowCredentials, "true")
	}
}
