// Package dnstest runs a small authoritative DNS server for tests, on
// UDP and TCP on one loopback port, with a zone the test changes while it
// runs.
package dnstest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// SRV is one SRV record.
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string
}

// Server answers queries from its zone: the records of the asked name and
// type; NOERROR with no records when the name has records of other types
// only; NXDOMAIN when it has none; or the rcode set for the name. SRV
// answers carry the A and AAAA records of their targets as glue unless
// glue is turned off. It is safe for concurrent use.
type Server struct {
	// Addr is the "127.0.0.1:port" the server listens on (UDP and TCP).
	Addr string

	udp net.PacketConn
	tcp net.Listener
	wg  sync.WaitGroup

	mu       sync.Mutex
	zone     map[string]map[dnsmessage.Type][]dnsmessage.Resource
	rcodes   map[string]dnsmessage.RCode
	noGlue   bool
	truncate bool
	queries  map[string]int
}

// NewServer starts a server; it stops when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		zone:    map[string]map[dnsmessage.Type][]dnsmessage.Resource{},
		rcodes:  map[string]dnsmessage.RCode{},
		queries: map[string]int{},
	}
	var lc net.ListenConfig
	var err error
	for range 10 {
		if s.udp, err = lc.ListenPacket(tb.Context(), "udp", "127.0.0.1:0"); err != nil {
			tb.Fatal(err)
		}
		s.Addr = s.udp.LocalAddr().String()
		if s.tcp, err = lc.Listen(tb.Context(), "tcp", s.Addr); err == nil {
			break
		}
		_ = s.udp.Close()
	}
	if err != nil {
		tb.Fatal(err)
	}
	s.wg.Go(s.serveUDP)
	s.wg.Go(s.serveTCP)
	tb.Cleanup(func() {
		_ = s.udp.Close()
		_ = s.tcp.Close()
		s.wg.Wait()
	})
	return s
}

func key(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

func mustName(name string) dnsmessage.Name {
	n, err := dnsmessage.NewName(key(name))
	if err != nil {
		panic(err)
	}
	return n
}

func (s *Server) set(name string, t dnsmessage.Type, rrs []dnsmessage.Resource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(name)
	if s.zone[k] == nil {
		s.zone[k] = map[dnsmessage.Type][]dnsmessage.Resource{}
	}
	if len(rrs) == 0 {
		delete(s.zone[k], t)
	} else {
		s.zone[k][t] = rrs
	}
}

func header(name string, t dnsmessage.Type, ttl uint32) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: mustName(name), Type: t, Class: dnsmessage.ClassINET, TTL: ttl}
}

// SetA sets the A records of name (none removes them).
func (s *Server) SetA(name string, ttl uint32, ips ...string) {
	rrs := make([]dnsmessage.Resource, len(ips))
	for i, ip := range ips {
		rrs[i] = dnsmessage.Resource{
			Header: header(name, dnsmessage.TypeA, ttl),
			Body:   &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()},
		}
	}
	s.set(name, dnsmessage.TypeA, rrs)
}

// SetAAAA sets the AAAA records of name (none removes them).
func (s *Server) SetAAAA(name string, ttl uint32, ips ...string) {
	rrs := make([]dnsmessage.Resource, len(ips))
	for i, ip := range ips {
		rrs[i] = dnsmessage.Resource{
			Header: header(name, dnsmessage.TypeAAAA, ttl),
			Body:   &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(ip).As16()},
		}
	}
	s.set(name, dnsmessage.TypeAAAA, rrs)
}

// SetSRV sets the SRV records of name (none removes them).
func (s *Server) SetSRV(name string, ttl uint32, srvs ...SRV) {
	rrs := make([]dnsmessage.Resource, len(srvs))
	for i, r := range srvs {
		rrs[i] = dnsmessage.Resource{
			Header: header(name, dnsmessage.TypeSRV, ttl),
			Body:   &dnsmessage.SRVResource{Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: mustName(r.Target)},
		}
	}
	s.set(name, dnsmessage.TypeSRV, rrs)
}

// SetRcode makes queries for name answer rcode (RCodeSuccess clears it).
func (s *Server) SetRcode(name string, rcode dnsmessage.RCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dnsmessage.RCodeSuccess {
		delete(s.rcodes, key(name))
	} else {
		s.rcodes[key(name)] = rcode
	}
}

// Remove removes every record of name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.zone, key(name))
}

// SetGlue turns glue records in SRV answers on (the default) or off.
func (s *Server) SetGlue(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noGlue = !on
}

// SetTruncate makes every UDP answer truncated, so clients retry over
// TCP.
func (s *Server) SetTruncate(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate = on
}

// Queries returns how many queries asked for name (any type).
func (s *Server) Queries(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[key(name)]
}

// answer builds the response to a query; udp marks a UDP response, which
// may be truncated.
func (s *Server) answer(query []byte, udp bool) ([]byte, bool) {
	var q dnsmessage.Message
	if err := q.Unpack(query); err != nil || len(q.Questions) != 1 {
		return nil, false
	}
	question := q.Questions[0]
	k := strings.ToLower(question.Name.String())
	resp := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true, RecursionDesired: q.RecursionDesired},
		Questions: q.Questions,
	}

	s.mu.Lock()
	s.queries[k]++
	rcode, forced := s.rcodes[k]
	records := s.zone[k]
	switch {
	case forced:
		resp.RCode = rcode
	case len(records) == 0:
		resp.RCode = dnsmessage.RCodeNameError
	default:
		resp.Answers = append(resp.Answers, records[question.Type]...)
		if question.Type == dnsmessage.TypeSRV && !s.noGlue {
			for _, rr := range records[question.Type] {
				target := strings.ToLower(rr.Body.(*dnsmessage.SRVResource).Target.String())
				resp.Additionals = append(resp.Additionals, s.zone[target][dnsmessage.TypeA]...)
				resp.Additionals = append(resp.Additionals, s.zone[target][dnsmessage.TypeAAAA]...)
			}
		}
	}
	if udp && s.truncate {
		resp.Truncated = true
		resp.Answers, resp.Additionals = nil, nil
	}
	s.mu.Unlock()

	b, err := resp.Pack()
	return b, err == nil
}

func (s *Server) serveUDP() {
	buf := make([]byte, 1500)
	for {
		n, addr, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		if b, ok := s.answer(buf[:n], true); ok {
			_, _ = s.udp.WriteTo(b, addr)
		}
	}
}

func (s *Server) serveTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer func() { _ = c.Close() }()
			for {
				var size [2]byte
				if _, err := io.ReadFull(c, size[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(size[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				b, ok := s.answer(q, false)
				if !ok {
					return
				}
				out := binary.BigEndian.AppendUint16(nil, uint16(len(b))) //nolint:gosec // G115: test answers are small
				if _, err := c.Write(append(out, b...)); err != nil && !errors.Is(err, net.ErrClosed) {
					return
				}
			}
		})
	}
}
