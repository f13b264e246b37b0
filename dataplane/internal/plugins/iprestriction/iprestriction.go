// Package iprestriction is Kong's ip-restriction plugin: it answers 403
// (or the configured status and message) to clients whose address is in
// the deny list, or not in the allow list. The address is the proxy's
// client IP, after Kong's real-IP rules (trusted IPs, real-IP header).
// Lists of addresses and CIDR ranges, IPv4 and IPv6, are compiled once per
// plugin entity; a request costs a parse and a few map lookups, without
// allocating.
package iprestriction

import (
	"fmt"
	"net/netip"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

// Name is the plugin's name.
const Name = "ip-restriction"

// Kong's texts.
const (
	// notAllowedFormat is the default message, with the client address.
	notAllowedFormat = "IP address not allowed: %s"
	// noClientIP answers a request whose client address is not an IP.
	noClientIP = "Cannot identify the client IP address, unix domain sockets are not supported."
)

// Factory makes ip-restriction instances.
type Factory struct{}

// Name returns "ip-restriction".
func (Factory) Name() string { return Name }

// New compiles the allow and deny lists of one plugin entity.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	deny, err := newMatcher(conf.Strings(c, "deny"))
	if err != nil {
		return nil, fmt.Errorf("deny: %w", err)
	}
	allow, err := newMatcher(conf.Strings(c, "allow"))
	if err != nil {
		return nil, fmt.Errorf("allow: %w", err)
	}
	in := &instance{deny: deny, allow: allow, status: 403}
	if s, ok := conf.Float(c, "status"); ok {
		in.status = int(s)
	}
	if m, ok := c["message"].(string); ok {
		in.message, in.hasMessage = m, true
	}
	return in, nil
}

var _ pdk.Accesser = (*instance)(nil)

// instance is one configured ip-restriction.
type instance struct {
	deny, allow *matcher // nil when the list is empty
	status      int
	message     string
	hasMessage  bool
}

// Access refuses the request when the client address is denied, or not
// allowed, with Kong's error body.
func (p *instance) Access(ctx pdk.Context) error {
	ip := ctx.ClientIP()
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		ctx.Logger().Warn(noClientIP)
		ctx.Error(403, noClientIP, nil)
		return nil
	}
	addr = addr.Unmap().WithZone("")
	if p.deny != nil && p.deny.match(addr) {
		p.refuse(ctx, ip)
		return nil
	}
	if p.allow != nil && !p.allow.match(addr) {
		p.refuse(ctx, ip)
	}
	return nil
}

// refuse answers as Kong's do_exit: the configured message, else one
// naming the client address, logged at warn level.
func (p *instance) refuse(ctx pdk.Context, ip string) {
	msg := p.message
	if !p.hasMessage {
		msg = fmt.Sprintf(notAllowedFormat, ip)
	}
	ctx.Logger().Warn(msg)
	ctx.Error(p.status, msg, nil)
}
