// Package keyauth is Kong's key-auth plugin: a request authenticates with
// an API key sent in a header, the query string or the body, looked up
// among the keyauth_credentials (kong/plugins/key-auth/handler.lua).
//
// Unlike Kong in hybrid mode, expired credentials are refused: Gatehouse
// carries a credential's expiry (expires_at) to the data planes.
package keyauth

import (
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/authn"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
	"gatehouse.dev/shared/entity"
)

// Name is the plugin's name.
const Name = "key-auth"

// Kong's messages.
const (
	msgDuplicate    = "Duplicate API key found"
	msgNoKey        = "No API key found in request"
	msgUnauthorized = "Unauthorized"
)

// indexKey is the pdk.Env Index key of the credential table.
const indexKey = "key-auth:credentials"

// Factory makes key-auth instances.
type Factory struct{}

var _ pdk.Factory = Factory{}

// Name is "key-auth".
func (Factory) Name() string { return Name }

// New parses the configuration and looks up the credential table (built
// once per runtime and shared by every key-auth instance) and the
// anonymous consumer.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	p := &plugin{
		keyNames:       conf.Strings(c, "key_names"),
		hide:           conf.Bool(c, "hide_credentials"),
		inHeader:       conf.Bool(c, "key_in_header"),
		inQuery:        conf.Bool(c, "key_in_query"),
		inBody:         conf.Bool(c, "key_in_body"),
		runOnPreflight: conf.Bool(c, "run_on_preflight"),
		env:            cfg.Env,
		anonymous:      authn.NewAnonymous(cfg.Env, conf.String(c, "anonymous")),
	}
	p.challenge = map[string]string{"WWW-Authenticate": "Key"}
	if realm := conf.String(c, "realm"); realm != "" {
		// Kong formats 'Key realm="%s"': the realm goes in as it is,
		// quotes and all, without escaping.
		p.challenge["WWW-Authenticate"] = `Key realm="` + realm + `"`
	}
	p.creds = cfg.Env.Live(indexKey, func(env pdk.Env) any { return buildIndex(env) })
	return p, nil
}

// credential is a key's credential with its consumer.
type credential struct {
	cred     pdk.Credential
	consumer *pdk.Consumer
	// expiresAt is the expiry in unix seconds, 0 for none.
	expiresAt int64
}

// buildIndex maps every key to its credential. The credentials live in
// one slice (a table is rebuilt whenever a consumer or credential changes:
// one allocation instead of two per credential).
func buildIndex(env pdk.Env) map[string]*credential {
	var all []credential
	var keys []string
	env.Each(entity.KeyAuthCredentials, func(e map[string]any) {
		key, _ := e["key"].(string)
		id, _ := e["id"].(string)
		consumerID := foreignID(e, "consumer")
		consumer, ok := env.Consumer(consumerID)
		if key == "" || !ok {
			return
		}
		c := credential{
			cred:     pdk.Credential{ID: id, ConsumerID: consumerID, Type: entity.KeyAuthCredentials},
			consumer: consumer,
		}
		c.expiresAt, _ = conf.Int(e, "expires_at")
		all = append(all, c)
		keys = append(keys, key)
	})
	out := make(map[string]*credential, len(all))
	for i := range all {
		out[keys[i]] = &all[i]
	}
	return out
}

func foreignID(e map[string]any, field string) string {
	m, _ := e[field].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// plugin is one key-auth configuration.
type plugin struct {
	keyNames                        []string
	hide, inHeader, inQuery, inBody bool
	runOnPreflight                  bool
	anonymous                       authn.Anonymous
	challenge                       map[string]string // the 401s' WWW-Authenticate
	creds                           pdk.Live          // map[string]*credential, per runtime
	env                             pdk.Env
}

var _ pdk.Accesser = (*plugin)(nil)

// Access authenticates the request: as Kong's "logical AND" without an
// anonymous consumer (any failure answers 401), as its "logical OR" with
// one (an earlier plugin's credential suffices; a failure proceeds as the
// anonymous consumer).
func (p *plugin) Access(ctx pdk.Context) error {
	if !p.runOnPreflight && ctx.Request().Method() == "OPTIONS" {
		return nil
	}
	if p.anonymous.Set() {
		if ctx.Credential() != nil {
			return nil
		}
		if msg := p.authenticate(ctx); msg != "" {
			p.anonymous.Apply(ctx)
		}
		return nil
	}
	if msg := p.authenticate(ctx); msg != "" {
		ctx.Error(401, msg, p.challenge)
	}
	return nil
}

// authenticate finds the key and its credential and authenticates the
// request, or returns the 401 message.
func (p *plugin) authenticate(ctx pdk.Context) string {
	key, msg := p.find(ctx)
	if msg != "" {
		return msg
	}
	if key == "" {
		return msgNoKey
	}
	c := p.creds.Get().(map[string]*credential)[key]
	if c == nil || c.expiresAt != 0 && p.env.Now().Unix() >= c.expiresAt {
		return msgUnauthorized
	}
	authn.SetConsumer(ctx, c.consumer, &c.cred)
	return ""
}
