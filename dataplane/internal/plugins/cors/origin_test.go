package cors

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, domain, host string
	}{
		{"http://example.com", "http://example.com", "example.com"},
		{"http://example.com:80", "http://example.com", "example.com"},
		{"https://example.com:443", "https://example.com", "example.com"},
		{"https://example.com:80", "https://example.com:80", "example.com"},
		{"http://example.com:8080/path?q#f", "http://example.com:8080", "example.com"},
		{"http://user:pw@example.com:81", "http://example.com:81", "example.com"},
		{"http://[::1]:8080", "http://::1:8080", "::1"},
		{"null", "null", "null"},
		{"example.com", "example.com", "example.com"},
		{"//example.com", "example.com", "example.com"},
		{"http://", "http://", "http://"},
	}
	for _, tt := range tests {
		domain, host := normalize(tt.in)
		if domain != tt.domain || host != tt.host {
			t.Errorf("normalize(%q) = %q, %q; want %q, %q", tt.in, domain, host, tt.domain, tt.host)
		}
	}
}

func TestNormalizeSharesTheInput(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { normalize("https://api.example.com:8443") }); n != 0 {
		t.Errorf("normalize allocates %v times for an origin already normal", n)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"http://example.com:80", "https://[::1]:443/x", "null", "a:b//c@d:e", "//x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		domain, host := normalize(s)
		// Normalising a normalised origin changes nothing, except for an
		// IPv6 host, whose brackets LuaSocket drops, and a host holding
		// "@" (LuaSocket strips the user info up to the first one).
		if strings.ContainsAny(host, ":@") {
			return
		}
		if d2, h2 := normalize(domain); d2 != domain {
			t.Errorf("normalize(%q) = %q %q, then %q %q", s, domain, host, d2, h2)
		}
	})
}
