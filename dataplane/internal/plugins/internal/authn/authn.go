// Package authn holds what Kong's authentication plugins share: the
// upstream headers that name the authenticated consumer (set_consumer),
// and the anonymous consumer of the "logical OR" between auth plugins.
package authn

import (
	"fmt"

	"gatehouse.dev/dataplane/internal/pdk"
)

// The upstream headers Kong sets for an authenticated request
// (kong.constants HEADERS).
const (
	HeaderConsumerID           = "X-Consumer-ID"
	HeaderConsumerCustomID     = "X-Consumer-Custom-ID"
	HeaderConsumerUsername     = "X-Consumer-Username"
	HeaderCredentialIdentifier = "X-Credential-Identifier" //nolint:gosec // a header name, not a credential
	HeaderAnonymous            = "X-Anonymous-Consumer"
)

// SetConsumer is Kong's set_consumer: it authenticates the request as c
// with cred (nil for the anonymous consumer), and sets or clears the
// consumer headers of the upstream request accordingly.
func SetConsumer(ctx pdk.Context, c *pdk.Consumer, cred *pdk.Credential) {
	ctx.Authenticate(c, cred)
	up := ctx.Upstream()
	set := func(name, value string) {
		if value != "" {
			up.SetHeader(name, value)
		} else {
			up.DelHeader(name)
		}
	}
	var id, customID, username, credID string
	if c != nil {
		id, customID, username = c.ID, c.CustomID, c.Username
	}
	if cred != nil {
		credID = cred.ID
	}
	set(HeaderConsumerID, id)
	set(HeaderConsumerCustomID, customID)
	set(HeaderConsumerUsername, username)
	set(HeaderCredentialIdentifier, credID)
	if cred != nil {
		up.DelHeader(HeaderAnonymous)
	} else {
		up.SetHeader(HeaderAnonymous, "true")
	}
}

// Anonymous is an auth plugin's "anonymous" setting: the consumer (by id
// or username) a request that fails to authenticate proceeds as.
type Anonymous struct {
	// Name is the setting as configured, "" for none.
	Name string
	// consumer is the consumer it names in the runtime serving (nil when
	// none exists), looked up per runtime.
	consumer pdk.Live
}

// NewAnonymous resolves the setting name against env (when it is not "")
// in each runtime: a consumer change does not remake the instance.
func NewAnonymous(env pdk.Env, name string) Anonymous {
	a := Anonymous{Name: name}
	if name != "" {
		a.consumer = env.Live("authn:anonymous:"+name, func(env pdk.Env) any {
			c, _ := env.Consumer(name)
			return c
		})
	}
	return a
}

// Set reports whether the setting is configured.
func (a Anonymous) Set() bool { return a.Name != "" }

// Consumer is the consumer the setting names, nil when none exists.
func (a Anonymous) Consumer() *pdk.Consumer {
	if a.consumer == nil {
		return nil
	}
	c, _ := a.consumer.Get().(*pdk.Consumer)
	return c
}

// Apply authenticates the request as the anonymous consumer, or answers
// Kong's 500 when it does not exist.
func (a Anonymous) Apply(ctx pdk.Context) {
	c := a.Consumer()
	if c == nil {
		ctx.Error(500, MissingAnonymous(a.Name), nil)
		return
	}
	SetConsumer(ctx, c, nil)
}

// MissingAnonymous is Kong's message for an anonymous consumer that does
// not exist.
func MissingAnonymous(name string) string {
	return fmt.Sprintf("anonymous consumer %s is configured but doesn't exist", name)
}
