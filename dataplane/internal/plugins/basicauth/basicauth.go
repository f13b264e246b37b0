// Package basicauth is Kong's basic-auth plugin: a request authenticates
// with a username and password in the Authorization (or
// Proxy-Authorization) header, checked against the basicauth_credentials,
// whose passwords are stored as Kong hashes them
// (kong/plugins/basic-auth/access.lua).
package basicauth

import (
	"crypto/subtle"
	"fmt"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/authn"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
	"gatehouse.dev/shared/entity"
)

// Name is the plugin's name.
const Name = "basic-auth"

// msgUnauthorized is Kong's message for every failure.
const msgUnauthorized = "Unauthorized"

// indexKey is the pdk.Env Index key of the credential table.
const indexKey = "basic-auth:credentials"

// Factory makes basic-auth instances.
type Factory struct{}

var _ pdk.Factory = Factory{}

// Name is "basic-auth".
func (Factory) Name() string { return Name }

// New parses the configuration and looks up the credential table (built
// once per runtime and shared by every basic-auth instance) and the
// anonymous consumer.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	p := &plugin{
		hide:      conf.Bool(c, "hide_credentials"),
		anonymous: authn.NewAnonymous(cfg.Env, conf.String(c, "anonymous")),
		challenge: map[string]string{"WWW-Authenticate": fmt.Sprintf(`Basic realm="%s"`, conf.String(c, "realm"))},
	}
	p.creds = cfg.Env.Live(indexKey, func(env pdk.Env) any { return buildIndex(env) })
	return p, nil
}

// credential is a username's credential with its consumer.
type credential struct {
	cred     pdk.Credential
	consumer *pdk.Consumer
	hash     string // sha1(password .. consumer id), hex
}

// buildIndex maps every username to its credential; the credentials live
// in one slice, as key-auth's do.
func buildIndex(env pdk.Env) map[string]*credential {
	var all []credential
	var names []string
	env.Each(entity.BasicAuthCredentials, func(e map[string]any) {
		username, _ := e["username"].(string)
		id, _ := e["id"].(string)
		hash, _ := e["password"].(string)
		m, _ := e["consumer"].(map[string]any)
		consumerID, _ := m["id"].(string)
		consumer, ok := env.Consumer(consumerID)
		if username == "" || !ok {
			return
		}
		all = append(all, credential{
			cred:     pdk.Credential{ID: id, ConsumerID: consumerID, Type: entity.BasicAuthCredentials},
			consumer: consumer, hash: hash,
		})
		names = append(names, username)
	})
	out := make(map[string]*credential, len(all))
	for i := range all {
		out[names[i]] = &all[i]
	}
	return out
}

// plugin is one basic-auth configuration.
type plugin struct {
	hide      bool
	anonymous authn.Anonymous
	challenge map[string]string // the 401s' WWW-Authenticate
	creds     pdk.Live          // map[string]*credential, per runtime
}

var _ pdk.Accesser = (*plugin)(nil)

// Access authenticates the request: as Kong's "logical AND" without an
// anonymous consumer (any failure answers 401), as its "logical OR" with
// one (an earlier plugin's credential suffices; a failure proceeds as the
// anonymous consumer).
func (p *plugin) Access(ctx pdk.Context) error {
	if p.anonymous.Set() {
		if ctx.Credential() != nil {
			return nil
		}
		if !p.authenticate(ctx) {
			p.anonymous.Apply(ctx)
		}
		return nil
	}
	if !p.authenticate(ctx) {
		ctx.Error(401, msgUnauthorized, p.challenge)
	}
	return nil
}

// authenticate checks the credentials of Proxy-Authorization, then those
// of Authorization, as Kong does, and authenticates the request.
func (p *plugin) authenticate(ctx pdk.Context) bool {
	if !present(ctx.Request(), "Authorization") && !present(ctx.Request(), "Proxy-Authorization") {
		return false
	}
	var c *credential
	creds := p.creds.Get().(map[string]*credential)
	username, password, ok := p.retrieve(ctx, "Proxy-Authorization")
	if ok {
		c = creds[username]
	}
	if c == nil {
		if username, password, ok = p.retrieve(ctx, "Authorization"); !ok {
			return false
		}
		c = creds[username]
	}
	if c == nil || !valid(c, password) {
		return false
	}
	authn.SetConsumer(ctx, c.consumer, &c.cred)
	// Unlike the other auth plugins, Kong's basic-auth identifies the
	// credential upstream by its username, not its id.
	ctx.Upstream().SetHeader(authn.HeaderCredentialIdentifier, username)
	return true
}

// retrieve parses one header's credentials, removing the header from the
// upstream request with hide_credentials.
func (p *plugin) retrieve(ctx pdk.Context, header string) (username, password string, ok bool) {
	username, password, ok = Parse(ctx.Request().Header(header))
	if p.hide {
		ctx.Upstream().DelHeader(header)
	}
	return username, password, ok
}

// valid compares the password's hash with the stored one in constant time.
func valid(c *credential, password string) bool {
	return subtle.ConstantTimeCompare([]byte(entity.HashBasicAuthPassword(c.cred.ConsumerID, password)), []byte(c.hash)) == 1
}

// present reports whether the request carries the header, possibly empty.
func present(r pdk.Request, name string) bool {
	return r.Header(name) != "" || len(r.HeaderValues(name)) > 0
}
