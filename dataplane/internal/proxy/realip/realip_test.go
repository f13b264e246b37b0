package realip

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted := []string{"10.0.0.0/8", "192.168.1.1", "::1", "unix:"}
	tests := []struct {
		name      string
		recursive bool
		peer      string
		header    string
		want      string
	}{
		{"untrusted peer ignores header", false, "203.0.113.9", "1.1.1.1", "203.0.113.9"},
		{"trusted peer without header", false, "10.1.2.3", "", "10.1.2.3"},
		{"trusted peer single value", false, "10.1.2.3", "1.1.1.1", "1.1.1.1"},
		{"trusted exact address", false, "192.168.1.1", "1.1.1.1", "1.1.1.1"},
		{"untrusted neighbour of exact address", false, "192.168.1.2", "1.1.1.1", "192.168.1.2"},
		{"ipv6 trusted peer", false, "::1", "2001:db8::1", "2001:db8::1"},
		{"list takes the rightmost", false, "10.1.2.3", "1.1.1.1, 10.0.0.5", "10.0.0.5"},
		{"recursive skips trusted from the right", true, "10.1.2.3", "1.1.1.1, 2.2.2.2, 10.0.0.5, 10.0.0.6", "2.2.2.2"},
		{"recursive all trusted keeps the leftmost", true, "10.1.2.3", "10.0.0.7, 10.0.0.5", "10.0.0.7"},
		{"recursive stops at malformed", true, "10.1.2.3", "bogus, 10.0.0.5", "10.0.0.5"},
		{"malformed value keeps the peer", false, "10.1.2.3", "not-an-ip", "10.1.2.3"},
		{"port is dropped", false, "10.1.2.3", "1.1.1.1:5678", "1.1.1.1"},
		{"bracketed ipv6 with port", false, "10.1.2.3", "[2001:db8::2]:443", "2001:db8::2"},
		{"trailing comma and spaces", false, "10.1.2.3", "1.1.1.1 , ", "1.1.1.1"},
		{"mapped peer is trusted", false, "::ffff:10.1.2.3", "1.1.1.1", "1.1.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(trusted, "X-Real-IP", tt.recursive)
			if err != nil {
				t.Fatal(err)
			}
			got := r.ClientIP(netip.MustParseAddr(tt.peer), tt.header)
			if got.String() != tt.want {
				t.Errorf("ClientIP(%s, %q) = %s, want %s", tt.peer, tt.header, got, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := New([]string{"10.0.0.0/33"}, "X-Real-IP", false); err == nil {
		t.Error("New accepted a bad prefix")
	}
	r, err := New(nil, "X-Real-IP", false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Any() || r.Trusted(netip.MustParseAddr("127.0.0.1")) {
		t.Error("an empty resolver trusts something")
	}
	r, err = New([]string{"0.0.0.0/0", "::/0"}, "X-Forwarded-For", true)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Trusted(netip.MustParseAddr("8.8.8.8")) || !r.Trusted(netip.MustParseAddr("2001:db8::1")) {
		t.Error("0.0.0.0/0 and ::/0 do not trust everything")
	}
}
