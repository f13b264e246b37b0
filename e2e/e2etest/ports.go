package e2etest

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// handedOut remembers the ports FreeAddr gave in this run, so two
// processes of the run never get the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// Ports are picked below the kernel's ephemeral range: a port from that
// range could be taken, between FreeAddr and the process binding it (or
// while a process is stopped between two runs), as the local port of an
// outgoing connection, which the kernel assigns from the ephemeral range.
const (
	lowestPort       = 10000
	defaultEphemeral = 32768 // Linux's default ip_local_port_range start
)

// ephemeralStart is the first port of the kernel's ephemeral range.
var ephemeralStart = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeral
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return defaultEphemeral
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil {
		return defaultEphemeral
	}
	return n
})

// FreeAddr returns "127.0.0.1:<port>" with a port that was free a moment
// ago, below the ephemeral range, and that no other caller in this test
// binary run got. A process keeps its addresses across restarts, which is
// why the harness picks them instead of letting processes listen on port
// 0. Another program could still take the port in between; that shows as
// a process failing to listen, in its log.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	top := ephemeralStart()
	for range 1000 {
		port := 0
		if top-lowestPort > 1000 {
			port = lowestPort + rand.IntN(top-lowestPort) //nolint:gosec // a port number, not a secret
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // taken
		}
		port = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		handedOut.Lock()
		taken := handedOut.ports[port]
		handedOut.ports[port] = true
		handedOut.Unlock()
		if !taken {
			return "127.0.0.1:" + strconv.Itoa(port)
		}
	}
	tb.Fatal("find a free port: none found")
	return ""
}

// Port returns the port of a "host:port" address.
func Port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
