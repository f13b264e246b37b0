package proxy_test

import (
	"net/http"
	"regexp"
	"testing"

	"gatehouse.dev/shared/version"
)

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestProxiesToTheService(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServer(t, "a")
	h.service(up.URL+"/base", nil, map[string]any{"paths": []any{"/echo"}})
	h.apply()

	resp, body := get(t, h.url("/echo/x/y?q=1&r"), "X-Custom", "kept", "Connection", "X-Hop", "X-Hop", "dropped")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	e := decodeEcho(t, body)
	if e.URI != "/base/x/y?q=1&r" {
		t.Errorf("upstream URI %q, want /base/x/y?q=1&r", e.URI)
	}
	if got := e.Header["X-Custom"]; len(got) != 1 || got[0] != "kept" {
		t.Errorf("X-Custom upstream %q", got)
	}
	if _, ok := e.Header["X-Hop"]; ok {
		t.Error("a header named by Connection was forwarded")
	}
	via := "1.1 gatehouse/" + version.Version
	if got := e.Header["Via"]; len(got) != 1 || got[0] != via {
		t.Errorf("upstream Via %q, want %q", got, via)
	}
	if got := resp.Header.Get("Via"); got != via {
		t.Errorf("response Via %q, want %q", got, via)
	}
	rid := resp.Header.Get("X-Kong-Request-Id")
	if !requestIDPattern.MatchString(rid) {
		t.Errorf("X-Kong-Request-Id %q", rid)
	}
	if got := e.Header["X-Kong-Request-Id"]; len(got) != 1 || got[0] != rid {
		t.Errorf("upstream request id %q, want %q", got, rid)
	}
	for _, name := range []string{"X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency"} {
		if resp.Header.Get(name) == "" {
			t.Errorf("no %s", name)
		}
	}
}
