package dns

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Resolver resolves host names. Implementations must be safe for
// concurrent use.
type Resolver interface {
	// Resolve returns the addresses of name: its SRV records when name
	// looks like an SRV name ("_service._proto.domain"), or when
	// preferSRV is set and it has some; else its A records, else its AAAA
	// records. An IP address resolves to itself. Failures are *Error
	// values with Kong's texts (use IsNotFound to tell a name that does
	// not resolve from a failure to get an answer), or ctx's error.
	Resolve(ctx context.Context, name string, preferSRV bool) (Answer, error)
}

// Client is a stub resolver speaking DNS over UDP (and TCP when an
// answer is truncated) to recursive name servers. Unlike the standard
// library's resolver it reports record TTLs, which the Cache honours. The
// zero Client asks 127.0.0.1:53; SystemClient reads the machine's
// configuration. A Client must not be modified once in use.
type Client struct {
	// Servers are the name servers, "host:port", tried in order.
	Servers []string

	// Search is the search list, Ndots the dots a name needs to be tried
	// as is before the search list (resolv.conf semantics; 0 means 1).
	Search []string
	Ndots  int

	// Timeout bounds one query to one server (default 5 s) and Attempts
	// is how many times the server list is tried (default 2).
	Timeout  time.Duration
	Attempts int

	// Hosts maps lower-case names (without a trailing dot) to addresses,
	// as /etc/hosts does; it is consulted before the servers. HostsTTL is
	// the TTL of such answers and of IP addresses (default 1 h).
	Hosts    map[string][]netip.Addr
	HostsTTL time.Duration
}

var _ Resolver = (*Client)(nil)

// maxSRVTargets bounds the SRV targets resolved for one answer.
const maxSRVTargets = 32

// Resolve implements Resolver.
func (c *Client) Resolve(ctx context.Context, name string, preferSRV bool) (Answer, error) {
	name = strings.TrimSpace(name)
	if a, ok := c.static(name); ok {
		return a, nil
	}
	if name == "" || len(name) > 253 {
		return Answer{}, errNameError()
	}
	types := []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA}
	switch {
	case strings.HasPrefix(name, "_"):
		types = []dnsmessage.Type{dnsmessage.TypeSRV}
	case preferSRV:
		types = []dnsmessage.Type{dnsmessage.TypeSRV, dnsmessage.TypeA, dnsmessage.TypeAAAA}
	}
	return c.lookup(ctx, name, types, true)
}

// static answers IP addresses and names of the hosts table.
func (c *Client) static(name string) (Answer, bool) {
	ttl := c.HostsTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	ip := strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if addr, err := netip.ParseAddr(ip); err == nil && addr.Zone() == "" {
		addr = addr.Unmap()
		typ := TypeA
		if addr.Is6() {
			typ = TypeAAAA
		}
		return Answer{Type: typ, Records: []Record{{Addr: addr}}, TTL: ttl}, true
	}
	addrs := c.Hosts[strings.ToLower(strings.TrimSuffix(name, "."))]
	if len(addrs) == 0 {
		return Answer{}, false
	}
	var v4, v6 []Record
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, Record{Addr: a})
		} else {
			v6 = append(v6, Record{Addr: a})
		}
	}
	if len(v4) > 0 {
		sortRecords(v4)
		return Answer{Type: TypeA, Records: v4, TTL: ttl}, true
	}
	sortRecords(v6)
	return Answer{Type: TypeAAAA, Records: v6, TTL: ttl}, true
}

// lookup tries each candidate name (search list applied when search is
// set) with each type in order; the first non-empty answer wins.
func (c *Client) lookup(ctx context.Context, name string, types []dnsmessage.Type, search bool) (Answer, error) {
	candidates := []string{fqdn(name)}
	if search {
		candidates = c.candidates(name)
	}
	var sawEmpty bool
	for _, cand := range candidates {
		qname, err := dnsmessage.NewName(cand)
		if err != nil {
			return Answer{}, errNameError()
		}
	types:
		for _, t := range types {
			msg, err := c.query(ctx, qname, t)
			if err != nil {
				return Answer{}, err
			}
			switch msg.RCode {
			case dnsmessage.RCodeNameError:
				break types // the name does not exist, whatever the type
			case dnsmessage.RCodeSuccess:
			case dnsmessage.RCodeFormatError, dnsmessage.RCodeServerFailure,
				dnsmessage.RCodeNotImplemented, dnsmessage.RCodeRefused:
				return Answer{}, errRcode(int(msg.RCode))
			default:
				return Answer{}, errRcode(int(msg.RCode))
			}
			ans, err := c.answer(ctx, msg, t)
			if err != nil {
				return Answer{}, err
			}
			if len(ans.Records) > 0 {
				return ans, nil
			}
			sawEmpty = true
		}
	}
	if sawEmpty {
		return Answer{}, errEmpty()
	}
	return Answer{}, errNameError()
}

// candidates is the resolv.conf search order for name.
func (c *Client) candidates(name string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	ndots := max(c.Ndots, 1)
	asIs := strings.Count(name, ".") >= ndots
	out := make([]string, 0, len(c.Search)+1)
	if asIs {
		out = append(out, name+".")
	}
	for _, s := range c.Search {
		if s = strings.Trim(s, "."); s != "" {
			out = append(out, name+"."+s+".")
		}
	}
	if !asIs {
		out = append(out, name+".")
	}
	return out
}

func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// answer turns a response into an Answer of type t: the A or AAAA records
// of the answer section (CNAME chains are followed by the recursive
// server), or the SRV records of the top priority with their targets'
// addresses (from the additional section, else resolved).
func (c *Client) answer(ctx context.Context, msg *dnsmessage.Message, t dnsmessage.Type) (Answer, error) {
	var out Answer
	var ttl uint32
	add := func(r Record, recTTL uint32) {
		if out.Records == nil || recTTL < ttl {
			ttl = recTTL
		}
		out.Records = append(out.Records, r)
	}
	if t == dnsmessage.TypeSRV {
		out.Type = TypeSRV
		for i, rr := range topPriority(msg.Answers) {
			if i == maxSRVTargets {
				break
			}
			srv := rr.Body.(*dnsmessage.SRVResource)
			target := strings.TrimSuffix(srv.Target.String(), ".")
			addrs, addrTTL, err := c.srvTarget(ctx, msg, srv.Target)
			if err != nil {
				if IsNotFound(err) {
					continue // a dangling target is skipped
				}
				return Answer{}, err
			}
			for _, a := range addrs {
				add(Record{Addr: a, Port: srv.Port, Weight: srv.Weight, Priority: srv.Priority, Target: target},
					min(rr.Header.TTL, addrTTL))
			}
		}
	} else {
		out.Type = TypeA
		if t == dnsmessage.TypeAAAA {
			out.Type = TypeAAAA
		}
		for _, rr := range msg.Answers {
			if addr, ok := addrOf(rr, t); ok {
				add(Record{Addr: addr}, rr.Header.TTL)
			}
		}
	}
	sortRecords(out.Records)
	out.TTL = time.Duration(ttl) * time.Second
	return out, nil
}

// topPriority returns the SRV records of the lowest priority value: Kong
// balances over those only.
func topPriority(rrs []dnsmessage.Resource) []dnsmessage.Resource {
	var out []dnsmessage.Resource
	for _, rr := range rrs {
		srv, ok := rr.Body.(*dnsmessage.SRVResource)
		if !ok {
			continue
		}
		if len(out) > 0 {
			top := out[0].Body.(*dnsmessage.SRVResource).Priority
			if srv.Priority > top {
				continue
			}
			if srv.Priority < top {
				out = out[:0]
			}
		}
		out = append(out, rr)
	}
	return out
}

// srvTarget returns the addresses of an SRV target and their TTL: glue
// records of the response if it has any, else a lookup.
func (c *Client) srvTarget(ctx context.Context, msg *dnsmessage.Message, target dnsmessage.Name) ([]netip.Addr, uint32, error) {
	var addrs []netip.Addr
	var ttl uint32
	for _, rr := range msg.Additionals {
		if !strings.EqualFold(rr.Header.Name.String(), target.String()) {
			continue
		}
		for _, t := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA} {
			if a, ok := addrOf(rr, t); ok && !slices.Contains(addrs, a) {
				if addrs == nil || rr.Header.TTL < ttl {
					ttl = rr.Header.TTL
				}
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) > 0 {
		return addrs, ttl, nil
	}
	name := strings.TrimSuffix(target.String(), ".")
	if a, ok := c.static(name); ok {
		return recordAddrs(a), ttlSeconds(a.TTL), nil
	}
	a, err := c.lookup(ctx, name, []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA}, false)
	if err != nil {
		return nil, 0, err
	}
	return recordAddrs(a), ttlSeconds(a.TTL), nil
}

// ttlSeconds is a TTL in whole seconds, as records carry it.
func ttlSeconds(d time.Duration) uint32 {
	return uint32(min(max(d/time.Second, 0), 1<<31-1))
}

func recordAddrs(a Answer) []netip.Addr {
	out := make([]netip.Addr, len(a.Records))
	for i, r := range a.Records {
		out[i] = r.Addr
	}
	return out
}

// addrOf returns the address of an A or AAAA resource of type t.
func addrOf(rr dnsmessage.Resource, t dnsmessage.Type) (netip.Addr, bool) {
	switch b := rr.Body.(type) {
	case *dnsmessage.AResource:
		if t == dnsmessage.TypeA {
			return netip.AddrFrom4(b.A), true
		}
	case *dnsmessage.AAAAResource:
		if t == dnsmessage.TypeAAAA {
			return netip.AddrFrom16(b.AAAA), true
		}
	}
	return netip.Addr{}, false
}

// query asks the servers in turn, Attempts times over, until one answers
// with anything but a server failure or refusal.
func (c *Client) query(ctx context.Context, name dnsmessage.Name, t dnsmessage.Type) (*dnsmessage.Message, error) {
	servers := c.Servers
	if len(servers) == 0 {
		servers = []string{"127.0.0.1:53"}
	}
	var last error
	var lastCode dnsmessage.RCode
	for range max(c.Attempts, 1) {
		for _, s := range servers {
			msg, err := c.exchange(ctx, s, name, t)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				last = err
				continue
			}
			if msg.RCode == dnsmessage.RCodeServerFailure || msg.RCode == dnsmessage.RCodeRefused {
				lastCode = msg.RCode
				continue
			}
			return msg, nil
		}
	}
	if lastCode != 0 {
		return nil, errRcode(int(lastCode))
	}
	if last == nil {
		last = errors.New("no name server")
	}
	return nil, &Error{Code: codeFailed, Text: "dns lookup failed: " + last.Error(), Err: last}
}
