package schema

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// HostInfo is a parsed "host[:port]" as Kong's utils.normalize_ip returns
// it.
type HostInfo struct {
	// Type is "ipv4", "ipv6" or "name".
	Type string
	// Host is the normalized address (IPv6 expanded, without brackets) or
	// the name.
	Host    string
	Port    int
	HasPort bool
}

var errInvalidPort = errors.New("invalid port number")

// NormalizeIP parses a host with an optional port the way Kong does:
// IPv4 ("1.2.3.4[:80]"), IPv6 ("::1" or "[::1][:80]") or a hostname made of
// letters, digits, '-', '.' and '_'. A port above 65535 gives an error that
// wraps errInvalidPort.
func NormalizeIP(address string) (HostInfo, error) {
	switch hostnameType(address) {
	case "ipv4":
		return normalizeIPv4(address)
	case "ipv6":
		return normalizeIPv6(address)
	default:
		return checkHostname(address)
	}
}

var ipv4Chars = regexp.MustCompile(`^[0-9.]+$`)

func hostnameType(name string) string {
	colons := strings.Count(name, ":")
	if colons > 1 {
		return "ipv6"
	}
	if ipv4Chars.MatchString(strings.ReplaceAll(name, ":", "")) {
		return "ipv4"
	}
	return "name"
}

var (
	ipv4Re     = regexp.MustCompile(`^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$`)
	ipv4PortRe = regexp.MustCompile(`^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d+)$`)
)

func normalizeIPv4(address string) (HostInfo, error) {
	var m []string
	if strings.Contains(address, ":") {
		m = ipv4PortRe.FindStringSubmatch(address)
	} else {
		m = ipv4Re.FindStringSubmatch(address)
	}
	if m == nil {
		return HostInfo{}, fmt.Errorf("invalid ipv4 address: %s", address)
	}
	var parts [4]int
	for i := range 4 {
		n, _ := strconv.Atoi(m[i+1])
		if n > 255 {
			return HostInfo{}, fmt.Errorf("invalid ipv4 address: %s", address)
		}
		parts[i] = n
	}
	h := HostInfo{Type: "ipv4", Host: fmt.Sprintf("%d.%d.%d.%d", parts[0], parts[1], parts[2], parts[3])}
	if len(m) == 6 {
		p, err := parsePort(m[5])
		if err != nil {
			return HostInfo{}, err
		}
		h.Port, h.HasPort = p, true
	}
	return h, nil
}

var ipv6GroupsRe = regexp.MustCompile(`^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$`)

func normalizeIPv6(address string) (HostInfo, error) {
	check := address
	h := HostInfo{Type: "ipv6"}
	if strings.HasPrefix(address, "[") {
		end := strings.IndexByte(address, ']')
		if end < 0 {
			return HostInfo{}, fmt.Errorf("invalid ipv6 address: %s", address)
		}
		check = address[1:end]
		if rest := address[end+1:]; rest != "" {
			digits, ok := strings.CutPrefix(rest, ":")
			if !ok || !allDigits(digits) {
				return HostInfo{}, errors.New("invalid ipv6 address")
			}
			p, err := parsePort(digits)
			if err != nil {
				return HostInfo{}, err
			}
			h.Port, h.HasPort = p, true
		}
	}
	if strings.HasPrefix(check, ":") {
		check = "0" + check
	}
	if strings.HasSuffix(check, ":") {
		check += "0"
	}
	if strings.Contains(check, "::") {
		count := strings.Count(check, ":")
		if count > 8 {
			return HostInfo{}, fmt.Errorf("invalid ipv6 address: %s", address)
		}
		check = strings.Replace(check, "::", ":"+strings.Repeat("0:", 8-count), 1)
	}
	m := ipv6GroupsRe.FindStringSubmatch(check)
	if m == nil {
		return HostInfo{}, fmt.Errorf("invalid ipv6 address: %s", address)
	}
	groups := make([]string, 8)
	for i := range 8 {
		groups[i] = strings.ToLower(strings.Repeat("0", 4-len(m[i+1])) + m[i+1])
	}
	h.Host = strings.Join(groups, ":")
	return h, nil
}

var hostnameRe = regexp.MustCompile(`^[0-9A-Za-z\-._]+$`)

func checkHostname(address string) (HostInfo, error) {
	name := address
	h := HostInfo{Type: "name"}
	if i := strings.LastIndexByte(address, ':'); i >= 0 && allDigits(address[i+1:]) && i+1 < len(address) {
		p, err := parsePort(address[i+1:])
		if err != nil {
			return HostInfo{}, err
		}
		name = address[:i]
		h.Port, h.HasPort = p, true
	}
	if !hostnameRe.MatchString(name) {
		return HostInfo{}, fmt.Errorf("invalid hostname: %s", address)
	}
	segments := strings.Split(name, ".")
	for i, seg := range segments {
		if strings.HasSuffix(seg, "-") || seg == "" && i != len(segments)-1 {
			return HostInfo{}, fmt.Errorf("invalid hostname: %s", address)
		}
	}
	h.Host = name
	return h, nil
}

func parsePort(s string) (int, error) {
	if len(s) > 6 {
		return 0, fmt.Errorf("%w: %s", errInvalidPort, s)
	}
	p, err := strconv.Atoi(s)
	if err != nil || p > 65535 {
		return 0, fmt.Errorf("%w: %s", errInvalidPort, s)
	}
	return p, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
