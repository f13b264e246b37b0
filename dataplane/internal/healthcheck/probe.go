package healthcheck

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Target is one address to probe.
type Target struct {
	// IP is the address to connect to, IPv6 without brackets.
	IP   string
	Port int

	// Hostname is the target's host as configured (a name, or an IP
	// address, IPv6 in brackets). It is the probe's Host header unless
	// HostHeader is set, and its server name over TLS when it is a name.
	Hostname string

	// HostHeader is the upstream's host_header, "" for none.
	HostHeader string

	// State receives the probe's result.
	State *State
}

// Probe runs one active probe of t with the settings of a, as
// lua-resty-healthcheck's run_single_check does: connect, for "https" a
// TLS handshake (server name a.HTTPSSNI, else the target's host name;
// certificate verified when a.HTTPSVerifyCertificate, against base's
// roots), then "GET <http_path> HTTP/1.0" with a's headers and the Host
// header, and read the status line. a.Timeout bounds the whole probe.
//
// A connect error or a failed handshake is FailureTCP (Kong reports a
// failed handshake as a TCP failure, even when it timed out), a timeout
// while connecting, writing or reading is FailureTimeout, another
// send or receive error FailureTCP, and an unparsable status line status
// 0 (an HTTP failure). A zero timeout means OpenResty's default socket
// timeout, 60 s. base may be nil; Probe never modifies it. The error is
// non-nil only when ctx ended, and the result must then be ignored.
func Probe(ctx context.Context, a *Active, t Target, base *tls.Config) (Result, error) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = defaultSocketTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := probe(pctx, a, t, base)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return r, nil
}

// defaultSocketTimeout is OpenResty's default for socket operations,
// which a timeout of 0 leaves in place.
const defaultSocketTimeout = 60 * time.Second

func probe(ctx context.Context, a *Active, t Target, base *tls.Config) Result {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(t.IP, strconv.Itoa(t.Port)))
	if err != nil {
		return failure(ctx, err, FailureTCP)
	}
	defer func() { _ = conn.Close() }()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if a.Type == "https" {
		tc := tls.Client(conn, probeTLS(a, t, base))
		if err := tc.HandshakeContext(ctx); err != nil {
			return Result{Failure: FailureTCP}
		}
		conn = tc
	}

	if _, err := conn.Write(probeRequest(a, t)); err != nil {
		return failure(ctx, err, FailureTCP)
	}
	line, err := bufio.NewReaderSize(conn, 512).ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		return failure(ctx, err, FailureTCP)
	}
	return Result{Status: parseStatusLine(line)}
}

// failure classifies an I/O error: a timeout (of the probe's deadline) is
// FailureTimeout, anything else other.
func failure(ctx context.Context, err error, other Failure) Result {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Result{Failure: FailureTimeout}
	}
	return Result{Failure: other}
}

// probeTLS is the client configuration of an https probe of t.
func probeTLS(a *Active, t Target, base *tls.Config) *tls.Config {
	var cfg *tls.Config
	if base != nil {
		cfg = base.Clone()
	} else {
		cfg = &tls.Config{}
	}
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	switch {
	case a.HTTPSSNI != "":
		cfg.ServerName = a.HTTPSSNI
	case !strings.HasPrefix(t.Hostname, "[") && net.ParseIP(t.Hostname) == nil && t.Hostname != "":
		cfg.ServerName = t.Hostname
	default:
		// An IP target: no SNI is sent; the certificate is checked
		// against the address.
		cfg.ServerName = t.IP
	}
	cfg.InsecureSkipVerify = !a.HTTPSVerifyCertificate
	return cfg
}

// probeRequest is lua-resty-healthcheck's request head.
func probeRequest(a *Active, t Target) []byte {
	host := t.HostHeader
	if host == "" {
		host = t.Hostname
	}
	if host == "" {
		host = t.IP
	}
	var b strings.Builder
	b.WriteString("GET ")
	b.WriteString(a.HTTPPath)
	b.WriteString(" HTTP/1.0\r\n")
	for _, h := range a.Headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	b.WriteString("Host: ")
	b.WriteString(host)
	b.WriteString("\r\n\r\n")
	return []byte(b.String())
}

// parseStatusLine returns the status of "HTTP/d.d <code> ...", or 0 when
// the line does not match lua-resty-healthcheck's ^HTTP/\d+\.\d+\s+(\d+)
// (case-insensitive).
func parseStatusLine(line []byte) int {
	s := string(line)
	if len(s) < 5 || !strings.EqualFold(s[:5], "HTTP/") {
		return 0
	}
	rest := s[5:]
	i := digits(rest)
	if i == 0 || i >= len(rest) || rest[i] != '.' {
		return 0
	}
	rest = rest[i+1:]
	i = digits(rest)
	if i == 0 {
		return 0
	}
	rest = rest[i:]
	trimmed := strings.TrimLeft(rest, " \t")
	if len(trimmed) == len(rest) {
		return 0
	}
	i = digits(trimmed)
	switch {
	case i == 0:
		return 0
	case i > 4:
		// Too long to be a status of any list: ignored, as Kong's
		// lookup of a large number would be.
		return 9999
	}
	code, _ := strconv.Atoi(trimmed[:i])
	return code
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
