// Package acl is Kong's acl plugin: it allows or denies the authenticated
// consumer by the groups it belongs to: its acls and, with
// include_consumer_groups, the names of its consumer groups; or the
// groups an earlier plugin authenticated (kong.ctx.shared
// authenticated_groups, as the LDAP and OAuth plugins set them)
// (kong/plugins/acl/handler.lua and groups.lua).
package acl

import (
	"cmp"
	"slices"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
	"gatehouse.dev/shared/entity"
)

// Name is the plugin's name.
const Name = "acl"

// Kong's answers.
const (
	msgForbidden    = "You cannot consume this service"
	msgUnauthorized = "Unauthorized"
)

// The upstream headers listing the groups of an allowed request.
const (
	HeaderConsumerGroups      = "X-Consumer-Groups"
	HeaderAuthenticatedGroups = "X-Authenticated-Groups"
)

// AuthenticatedGroupsKey is the pdk.Context.Get key under which an
// authentication plugin leaves the groups it authenticated (a []string),
// Kong's kong.ctx.shared.authenticated_groups.
const AuthenticatedGroupsKey = "authenticated_groups"

// indexKey is the pdk.Env Index key of the consumers' groups.
const indexKey = "acl:groups"

// Factory makes acl instances.
type Factory struct{}

var _ pdk.Factory = Factory{}

// Name is "acl".
func (Factory) Name() string { return Name }

// New parses the configuration and looks up the consumers' groups (built
// once per runtime and shared by every acl instance).
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	p := &plugin{
		hideHeader:          conf.Bool(c, "hide_groups_header"),
		includeGroups:       conf.Bool(c, "include_consumer_groups"),
		alwaysAuthenticated: conf.Bool(c, "always_use_authenticated_groups"),
	}
	if deny := conf.Strings(c, "deny"); len(deny) > 0 {
		p.deny, p.groups = true, deny
	} else {
		p.groups = conf.Strings(c, "allow")
	}
	p.members = cfg.Env.Live(indexKey, func(env pdk.Env) any { return buildIndex(env) })
	return p, nil
}

// membership is a consumer's groups: its acls (in id order, as Kong
// reads them) and, after them, its consumer groups' names.
type membership struct {
	acls, withConsumerGroups []string
	// The X-Consumer-Groups values of each list.
	aclHeader, withHeader string
}

func buildIndex(env pdk.Env) map[string]*membership {
	type row struct{ id, group string }
	rows := map[string][]row{}
	env.Each(entity.ACLs, func(e map[string]any) {
		m, _ := e["consumer"].(map[string]any)
		consumer, _ := m["id"].(string)
		id, _ := e["id"].(string)
		group, _ := e["group"].(string)
		rows[consumer] = append(rows[consumer], row{id, group})
	})
	out := map[string]*membership{}
	env.Each(entity.Consumers, func(e map[string]any) {
		id, _ := e["id"].(string)
		m := &membership{}
		r := rows[id]
		slices.SortFunc(r, func(a, b row) int { return cmp.Compare(a.id, b.id) })
		for _, x := range r {
			m.acls = append(m.acls, x.group)
		}
		m.withConsumerGroups = m.acls
		if c, ok := env.Consumer(id); ok && len(c.Groups) > 0 {
			m.withConsumerGroups = append(slices.Clip(m.acls), c.Groups...)
		}
		m.aclHeader, m.withHeader = strings.Join(m.acls, ", "), strings.Join(m.withConsumerGroups, ", ")
		out[id] = m
	})
	return out
}

// plugin is one acl configuration.
type plugin struct {
	deny                bool
	groups              []string // the allow or the deny list
	hideHeader          bool
	includeGroups       bool
	alwaysAuthenticated bool
	members             pdk.Live // map[string]*membership, per runtime
}

var _ pdk.Accesser = (*plugin)(nil)

// Access allows or denies the request.
func (p *plugin) Access(ctx pdk.Context) error {
	consumerID := ""
	if c := ctx.Consumer(); c != nil {
		consumerID = c.ID
	} else if cred := ctx.Credential(); cred != nil {
		consumerID = cred.ConsumerID
	}
	credential := ctx.Credential() != nil

	var authenticated []string
	haveAuthenticated := false
	if consumerID == "" || !credential || p.alwaysAuthenticated {
		authenticated, haveAuthenticated = ctx.Get(AuthenticatedGroupsKey).([]string)
	}
	if haveAuthenticated {
		if p.blocked(authenticated) {
			ctx.Error(403, msgForbidden, nil)
			return nil
		}
		if !p.hideHeader {
			setHeader(ctx, HeaderAuthenticatedGroups, strings.Join(authenticated, ", "))
		}
		return nil
	}
	if consumerID == "" {
		if credential {
			ctx.Error(403, msgForbidden, nil)
		} else {
			ctx.Error(401, msgUnauthorized, nil)
		}
		return nil
	}
	groups, header := p.consumerGroups(consumerID)
	if p.blocked(groups) {
		ctx.Error(403, msgForbidden, nil)
		return nil
	}
	if !p.hideHeader {
		setHeader(ctx, HeaderConsumerGroups, header)
	}
	return nil
}

// setHeader sets a groups header of the upstream request as Kong's
// kong.service.request.set_header does: an empty value (no group, allowed
// by a deny list) removes the header, the client's value included.
func setHeader(ctx pdk.Context, name, value string) {
	if value == "" {
		ctx.Upstream().DelHeader(name)
		return
	}
	ctx.Upstream().SetHeader(name, value)
}

// consumerGroups returns a consumer's groups and their header value.
func (p *plugin) consumerGroups(consumerID string) ([]string, string) {
	m := p.members.Get().(map[string]*membership)[consumerID]
	switch {
	case m == nil:
		return nil, ""
	case p.includeGroups:
		return m.withConsumerGroups, m.withHeader
	}
	return m.acls, m.aclHeader
}

// blocked reports whether groups are refused: one of them is denied, or
// none is allowed.
func (p *plugin) blocked(groups []string) bool {
	in := false
	for _, g := range p.groups {
		if slices.Contains(groups, g) {
			in = true
			break
		}
	}
	return in == p.deny
}
