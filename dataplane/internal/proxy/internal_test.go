package proxy

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/router"
)

func TestResponseType(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                                      typeJSON,
		"text/html":                             typeHTML,
		"TEXT/HTML":                             typeHTML,
		"application/xml":                       typeXML,
		"text/plain":                            typePlain,
		"text/*":                                typePlain,
		"application/*":                         typeJSON,
		"*/*":                                   typeJSON,
		"image/png":                             typeJSON,
		"garbage":                               typeJSON,
		"text/html;q=0.2, application/xml":      typeXML,
		"application/xml;q=0.5,text/html;q=0.6": typeHTML,
		"text/html, application/xml":            typeHTML, // equal quality: the first
		"text/html;q=1, text/plain;q=1.0":       typeHTML,
	}
	for accept, want := range tests {
		if got := responseType(accept); got != want {
			t.Errorf("responseType(%q) = %q, want %q", accept, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", `quo"te`, `back\slash`, "new\nline\ttab\r", "\x00\x1f", "ünïcödé ✓", "bad \xff utf8"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, got, err)
			continue
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if back != want {
			t.Errorf("%q round-trips to %q", s, back)
		}
	}
}

func TestHostName(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"example.com": "example.com", "Example.COM:8000": "example.com", "[::1]:80": "[::1]", "[::1]": "[::1]", "": "",
	}
	for in, want := range tests {
		if got := hostName(in); got != want {
			t.Errorf("hostName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServerName(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"example.com": "example.com", "example.com:8443": "example.com", "[::1]:443": "::1", "127.0.0.1:80": "127.0.0.1",
	}
	for in, want := range tests {
		if got := serverName([]byte(in)); got != want {
			t.Errorf("serverName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryValues(t *testing.T) {
	t.Parallel()
	q := "a=1&b&a=2&c=x%20y&&d="
	tests := map[string][]string{"a": {"1", "2"}, "b": {"true"}, "c": {"x y"}, "d": {""}, "e": nil}
	for name, want := range tests {
		if got := queryValues(q, name); !slices.Equal(got, want) {
			t.Errorf("queryValues(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestRequestLineTooLong(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg  string
		want bool
	}{
		{`error when reading request headers: small read buffer: buffer size=16384, contents: "GET /aaaa"..."aaaa"`, true},
		{`error when reading request headers: small read buffer: buffer size=16384, contents: "GET / HTTP/1.1\r\nHost: x\r\nCookie: cc"..."ccc"`, false},
		{`error when reading request headers: small read buffer (n=16385, reader buffered=16384)`, false},
	}
	for _, tt := range tests {
		if got := requestLineTooLong(errors.New(tt.msg)); got != tt.want {
			t.Errorf("requestLineTooLong(%q) = %v", tt.msg, got)
		}
	}
}

func TestEdits(t *testing.T) {
	t.Parallel()
	var e edits
	e.add("x-added", "1")
	e.set("X-Set", "a")
	e.set("x-set", "b")
	e.del("X-Gone")
	e.set("host", "h.example")
	if v, decided := e.lookup("X-SET"); !decided || v != "b" {
		t.Errorf("lookup X-Set = %q %v", v, decided)
	}
	if v, decided := e.lookup("X-Added"); decided || v != "1" {
		t.Errorf("an added header replaces the client's: %q %v", v, decided)
	}
	if _, decided := e.lookup("X-Gone"); !decided {
		t.Error("a deleted header is not decided")
	}
	if !e.hostSet || e.host != "h.example" {
		t.Error("Host was not set apart")
	}
	want := []kv{{"X-Added", "1"}, {"X-Set", "b"}}
	if !slices.Equal(e.headers, want) {
		t.Errorf("headers %v, want %v", e.headers, want)
	}
	e = e.reset()
	if len(e.headers) != 0 || len(e.replaced) != 0 || e.hostSet {
		t.Error("reset kept edits")
	}
}

func TestHostHeaderDefaultPorts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host  string
		port  int
		https bool
		want  string
	}{
		{"a.example", 80, false, "a.example"},
		{"a.example", 8080, false, "a.example:8080"},
		{"a.example", 443, true, "a.example"},
		{"a.example", 443, false, "a.example:443"},
		{"a.example", 80, true, "a.example:80"},
		{"::1", 8080, false, "[::1]:8080"},
	}
	for _, tt := range tests {
		x := &exchange{svc: &router.Service{Host: tt.host, Port: tt.port}, si: &serviceInfo{https: tt.https}}
		x.match.Route = &router.Route{}
		if got := string(x.hostHeader(nil, balancer.Address{})); got != tt.want {
			t.Errorf("%s:%d https=%v: Host %q, want %q", tt.host, tt.port, tt.https, got, tt.want)
		}
	}
}
