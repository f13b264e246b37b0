package dns

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// The files SystemClient reads.
const (
	resolvConfPath = "/etc/resolv.conf"
	hostsPath      = "/etc/hosts"
)

// SystemClient returns a Client configured from /etc/resolv.conf
// (nameserver, search, domain, options ndots/timeout/attempts) and
// /etc/hosts. A missing file leaves the defaults; an unreadable one is an
// error.
func SystemClient() (*Client, error) {
	c := &Client{}
	if err := readFile(resolvConfPath, func(r io.Reader) error { return ParseResolvConf(r, c) }); err != nil {
		return nil, err
	}
	if err := readFile(hostsPath, func(r io.Reader) error {
		h, err := ParseHosts(r)
		c.Hosts = h
		return err
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func readFile(path string, parse func(io.Reader) error) error {
	f, err := os.Open(path) //nolint:gosec // G304: the fixed system files above
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	return parse(f)
}

// ParseResolvConf reads a resolv.conf into c: its name servers (port 53),
// search list, ndots, timeout and attempts. Unknown lines are ignored.
func ParseResolvConf(r io.Reader, c *Client) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil {
				c.Servers = append(c.Servers, netip.AddrPortFrom(a, 53).String())
			}
		case "search":
			c.Search = append([]string(nil), f[1:]...)
		case "domain":
			c.Search = []string{f[1]}
		case "options":
			for _, o := range f[1:] {
				k, v, _ := strings.Cut(o, ":")
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					continue
				}
				switch k {
				case "ndots":
					c.Ndots = min(n, 15)
				case "timeout":
					c.Timeout = time.Duration(min(n, 30)) * time.Second
				case "attempts":
					c.Attempts = min(n, 5)
				}
			}
		}
	}
	return sc.Err()
}

// ParseHosts reads a hosts file: each line an address followed by names.
// Names are lower-cased; an address with a zone is skipped.
func ParseHosts(r io.Reader) (map[string][]netip.Addr, error) {
	out := map[string][]netip.Addr{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			continue
		}
		a = a.Unmap()
		for _, name := range f[1:] {
			name = strings.ToLower(strings.TrimSuffix(name, "."))
			out[name] = append(out[name], a)
		}
	}
	return out, sc.Err()
}
