package proxy_test

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"gatehouse.dev/shared/entity"
)

func header(e echo, name string) string {
	if vs := e.Header[name]; len(vs) > 0 {
		return strings.Join(vs, ", ")
	}
	return ""
}

func TestUpstreamHost(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServer(t, "a")
	u, _ := url.Parse(up.URL)
	_, port, _ := net.SplitHostPort(u.Host)
	h.service(up.URL, nil, map[string]any{"paths": []any{"/plain"}})
	h.service(up.URL, nil, map[string]any{"paths": []any{"/preserve"}, "preserve_host": true})
	upID := h.add(entity.Upstreams, map[string]any{"name": "named.upstream", "host_header": "backend.internal"})
	h.add(entity.Targets, map[string]any{"upstream": map[string]any{"id": upID}, "target": u.Host})
	h.service("http://named.upstream", nil, map[string]any{"paths": []any{"/header"}})
	plainUp := h.add(entity.Upstreams, map[string]any{"name": "plain.upstream"})
	h.add(entity.Targets, map[string]any{"upstream": map[string]any{"id": plainUp}, "target": u.Host})
	h.service("http://plain.upstream", nil, map[string]any{"paths": []any{"/target"}})
	h.apply()

	tests := []struct{ path, want string }{
		{"/plain", "127.0.0.1:" + port},
		{"/preserve", "Example.COM:1234"},
		{"/header", "backend.internal:" + port},
		{"/target", "127.0.0.1:" + port},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			_, body := get(t, h.url(tt.path), "Host", "Example.COM:1234")
			if e := decodeEcho(t, body); e.Host != tt.want {
				t.Errorf("upstream Host %q, want %q", e.Host, tt.want)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	spoofed := []string{
		"X-Forwarded-For", "1.2.3.4",
		"X-Forwarded-Proto", "https",
		"X-Forwarded-Host", "spoofed.example",
		"X-Forwarded-Port", "9999",
		"X-Forwarded-Path", "/spoofed",
		"X-Forwarded-Prefix", "/prefix",
		"X-Real-IP", "5.6.7.8",
		"Host", "API.Example.com:8888",
	}
	tests := []struct {
		name    string
		trusted []string
		want    map[string]string
	}{
		{"untrusted peer", nil, map[string]string{
			"X-Forwarded-For": "1.2.3.4, 127.0.0.1", "X-Forwarded-Proto": "http",
			"X-Forwarded-Host": "api.example.com", "X-Forwarded-Path": "/fwd/a%20b/c",
			"X-Forwarded-Prefix": "/fwd", "X-Real-Ip": "127.0.0.1",
		}},
		{"trusted peer", []string{"127.0.0.1"}, map[string]string{
			"X-Forwarded-For": "1.2.3.4, 127.0.0.1", "X-Forwarded-Proto": "https",
			"X-Forwarded-Host": "spoofed.example", "X-Forwarded-Port": "9999", "X-Forwarded-Path": "/spoofed",
			"X-Forwarded-Prefix": "/prefix", "X-Real-Ip": "5.6.7.8",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, withTrusted(tt.trusted, "X-Real-IP", false))
			up := echoServer(t, "a")
			h.service(up.URL, nil, map[string]any{"paths": []any{"/fwd"}})
			h.apply()
			_, port, _ := net.SplitHostPort(h.plain)
			if _, ok := tt.want["X-Forwarded-Port"]; !ok {
				tt.want["X-Forwarded-Port"] = port
			}
			_, body := get(t, h.url("/fwd/a%20b/c"), spoofed...)
			e := decodeEcho(t, body)
			for name, want := range tt.want {
				if got := header(e, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestRealIPRecursive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		recursive bool
		want      string
	}{
		{"recursive skips trusted hops", true, "1.1.1.1"},
		{"not recursive takes the last", false, "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, withTrusted([]string{"127.0.0.1", "10.0.0.0/8"}, "X-Forwarded-For", tt.recursive))
			up := echoServer(t, "a")
			h.service(up.URL, nil, map[string]any{"paths": []any{"/ip"}})
			h.apply()
			_, body := get(t, h.url("/ip"), "X-Forwarded-For", "1.1.1.1, 10.0.0.2")
			e := decodeEcho(t, body)
			if got := header(e, "X-Real-Ip"); got != tt.want {
				t.Errorf("X-Real-IP %q, want %q", got, tt.want)
			}
			if got := header(e, "X-Forwarded-For"); got != "1.1.1.1, 10.0.0.2, 127.0.0.1" {
				t.Errorf("X-Forwarded-For %q", got)
			}
			eventually(t, 2e9, "the access log line", func() bool {
				return strings.Contains(h.access.String(), `"client_ip":"`+tt.want+`"`)
			})
		})
	}
}
