package e2etest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Redis is a private redis-server on a free port, which a scenario may stop
// and start (the machine's shared Redis is never stopped).
type Redis struct {
	*Process
	addr string
}

// StartRedis starts a redis-server that keeps nothing on disk, and waits
// until it answers PING.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("private Redis: %v", err)
	}
	r := &Redis{addr: FreeAddr(tb)}
	host, port, _ := net.SplitHostPort(r.addr)
	r.Process = StartProcess(tb, ProcessSpec{Name: "redis", Bin: bin, Args: []string{
		"--bind", host, "--port", port, "--save", "", "--appendonly", "no", "--dir", tb.TempDir(),
	}})
	r.WaitReady(tb)
	return r
}

// Addr is the server's address (127.0.0.1:port).
func (r *Redis) Addr() string { return r.addr }

// Host and Port split Addr, for a plugin's redis settings.
func (r *Redis) Host() string { h, _, _ := net.SplitHostPort(r.addr); return h }

// Port is the server's port.
func (r *Redis) Port() int { return Port(r.addr) }

// StartAgain starts a stopped server (empty: nothing was saved) and waits
// until it answers.
func (r *Redis) StartAgain(tb testing.TB) {
	tb.Helper()
	r.Start(tb)
	r.WaitReady(tb)
}

// WaitReady waits until the server answers PING.
func (r *Redis) WaitReady(tb testing.TB) {
	tb.Helper()
	Eventually(tb, startTimeout, "redis answers PING", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := RedisCommand(ctx, r.addr, "PING")
		return err
	})
}

// RedisCommand sends one command to the Redis at addr and returns its
// reply as text (a status, an error, an integer or a bulk string; arrays
// are not decoded). A Redis error reply is returned as an error.
func RedisCommand(ctx context.Context, addr string, args ...string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	rd := bufio.NewReader(conn)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		if line == "$-1" {
			return "", nil
		}
		data, err := rd.ReadString('\n')
		return strings.TrimRight(data, "\r\n"), err
	}
	return line, nil
}
