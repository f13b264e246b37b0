package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
)

// kongBody is Kong's error body for message and request id in the format
// of content type typ.
func kongBody(typ, message, rid string) string {
	switch typ {
	case "text/html; charset=utf-8":
		return "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>" +
			message + ".</p>\n    <p>request_id: " + rid + "</p>\n  </body>\n</html>\n"
	case "application/xml; charset=utf-8":
		return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>" + message +
			"</message>\n  <requestid>" + rid + "</requestid>\n</error>\n"
	case "text/plain; charset=utf-8":
		return message + "\nrequest_id: " + rid + "\n"
	default:
		return "{\n  \"message\":\"" + message + "\",\n  \"request_id\":\"" + rid + "\"\n}"
	}
}

func TestErrorBodiesByAccept(t *testing.T) {
	t.Parallel()
	h := start(t)
	tests := []struct{ accept, typ string }{
		{"", "application/json; charset=utf-8"},
		{"application/json", "application/json; charset=utf-8"},
		{"text/html", "text/html; charset=utf-8"},
		{"application/xml", "application/xml; charset=utf-8"},
		{"text/plain", "text/plain; charset=utf-8"},
		{"text/*", "text/plain; charset=utf-8"},
		{"*/*", "application/json; charset=utf-8"},
		{"image/png", "application/json; charset=utf-8"},
		{"application/xml;q=0.5, text/html;q=0.9", "text/html; charset=utf-8"},
		{"text/html;q=0.1, application/xml", "application/xml; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			t.Parallel()
			var headers []string
			if tt.accept != "" {
				headers = []string{"Accept", tt.accept}
			}
			resp, body := get(t, h.url("/nowhere"), headers...)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.typ {
				t.Errorf("Content-Type %q, want %q", got, tt.typ)
			}
			rid := resp.Header.Get("X-Kong-Request-Id")
			if want := kongBody(tt.typ, "no Route matched with those values", rid); body != want {
				t.Errorf("body\n%q\nwant\n%q", body, want)
			}
			if resp.Header.Get("Server") == "" || resp.Header.Get("X-Kong-Response-Latency") == "" {
				t.Errorf("Kong's headers of a local response missing: %v", resp.Header)
			}
		})
	}
}

// rawGet sends a request over a fresh connection and returns the raw
// response head and body.
func rawGet(t *testing.T, addr, request string) (head, body string) {
	t.Helper()
	var d net.Dialer
	c, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", resp.StatusCode)
	for k, vs := range resp.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	var bb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		bb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String(), bb.String()
}

func TestProxyErrors(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServer(t, "a")

	dead := deadPort(t)
	// An upstream slower than the read timeout.
	slow := newSlowServer(t, 2*time.Second)

	h.service(up.URL, nil, map[string]any{"paths": []any{"/secure"}, "protocols": []any{"https"}})
	h.service(up.URL, nil, map[string]any{"paths": []any{"/redirect"}, "protocols": []any{"https"}, "https_redirect_status_code": int64(308)})
	h.add(entity.Routes, map[string]any{"paths": []any{"/noservice"}})
	h.service("http://"+dead, map[string]any{"retries": int64(0)}, map[string]any{"paths": []any{"/dead"}})
	h.service(slow, map[string]any{"read_timeout": int64(200)}, map[string]any{"paths": []any{"/slow"}})
	h.add(entity.Upstreams, map[string]any{"name": "empty.upstream"})
	h.service("http://empty.upstream", nil, map[string]any{"paths": []any{"/nopeer"}})
	h.service("http://missing.test", nil, map[string]any{"paths": []any{"/nxdomain"}})
	h.apply()

	tests := []struct {
		path    string
		status  int
		message string
		headers []string // "Name: value" lines expected in the head
	}{
		{"/secure", 426, "Please use HTTPS protocol", []string{"Connection: Upgrade", "Upgrade: TLS/1.2, HTTP/1.1"}},
		{"/noservice", 503, "no Service found with those values", nil},
		{"/dead", 502, "An invalid response was received from the upstream server", []string{"Via: 1.1 gatehouse/"}},
		{"/slow", 504, "The upstream server is timing out", nil},
		{"/nopeer", 503, "failure to get a peer from the ring-balancer", nil},
		{"/nxdomain", 503, "name resolution failed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			head, body := rawGet(t, h.plain, "GET "+tt.path+" HTTP/1.1\r\nHost: api.test\r\n\r\n")
			if !strings.HasPrefix(head, strconv.Itoa(tt.status)+"\n") {
				t.Fatalf("head %q, want status %d", head, tt.status)
			}
			rid := headerValue(head, "X-Kong-Request-Id")
			if want := kongBody("", tt.message, rid); body != want {
				t.Errorf("body %q, want %q", body, want)
			}
			for _, line := range tt.headers {
				if !strings.Contains(head, line) {
					t.Errorf("head %q lacks %q", head, line)
				}
			}
		})
	}

	t.Run("redirect", func(t *testing.T) {
		t.Parallel()
		head, body := rawGet(t, h.plain, "GET /redirect/x?a=1 HTTP/1.1\r\nHost: API.test:8000\r\n\r\n")
		if !strings.HasPrefix(head, "308\n") || !strings.Contains(head, "Location: https://api.test/redirect/x?a=1\n") || body != "" {
			t.Errorf("head %q body %q", head, body)
		}
	})
}

func headerValue(head, name string) string {
	for line := range strings.SplitSeq(head, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	return ""
}

// newSlowServer answers every request after delay; it returns its URL.
func newSlowServer(t *testing.T, delay time.Duration) string {
	t.Helper()
	s := echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	})
	return s
}
