package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ParseListen reads a listen setting: "off" (nil), or comma-separated
// host:port addresses ("127.0.0.1:8001, [::1]:8001"). Kong's flags after
// an address (reuseport, backlog=...) are accepted and ignored, except
// "ssl" and "http2", which Gatehouse expresses with the SSL listener.
func ParseListen(s string) ([]Listener, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, Off) {
		return nil, nil
	}
	if s == "" {
		return nil, errors.New(`must be host:port or "off"`)
	}
	var out []Listener
	for item := range strings.SplitSeq(s, ",") {
		fields := strings.Fields(item)
		if len(fields) == 0 {
			return nil, fmt.Errorf("empty address in %q", s)
		}
		for _, flag := range fields[1:] {
			switch {
			case flag == "reuseport", flag == "deferred", flag == "bind", strings.HasPrefix(flag, "backlog="):
			case flag == "ssl", flag == "http2":
				return nil, fmt.Errorf("%q: use GATEHOUSE_ADMIN_SSL_LISTEN for TLS", item)
			default:
				return nil, fmt.Errorf("%q: unknown listen flag %q", strings.TrimSpace(item), flag)
			}
		}
		addr := fields[0]
		if _, err := splitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%q: %w", addr, err)
		}
		out = append(out, Listener{Addr: addr})
	}
	return out, nil
}

// splitHostPort returns the host of host:port, checking the port.
func splitHostPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("want host:port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number between 0 and 65535", port)
	}
	return host, nil
}

// isLoopbackHost reports whether host reaches only this machine. An
// empty host, 0.0.0.0 and :: mean every interface.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ParseSize reads a size in bytes: a number, optionally followed by k, m
// or g (powers of 1024), as nginx and Kong write sizes ("16m").
func ParseSize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, strings.TrimSuffix(s, "g")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, errors.New("want a positive size such as 1048576, 512k, 16m or 1g")
	}
	return n * mult, nil
}
