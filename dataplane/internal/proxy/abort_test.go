package proxy_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowUpstream answers nothing until its client goes away, and reports on
// gone when that happens (net/http cancels a request's context when its
// connection closes). Requests arrive on arrived.
func slowUpstream(t *testing.T) (url string, arrived, gone <-chan struct{}) {
	t.Helper()
	a, g := make(chan struct{}, 4), make(chan struct{}, 4)
	url = echoServerFunc(t, func(_ http.ResponseWriter, r *http.Request) {
		a <- struct{}{}
		select {
		case <-r.Context().Done():
			g <- struct{}{}
		case <-time.After(30 * time.Second):
		}
	})
	return url, a, g
}

// waitFor waits for ch, at most 5 s (the upstream's read timeout is 60 s).
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	const d = 5 * time.Second
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s: not within %s", what, d)
	}
}

// TestClientAbortClosesUpstream: an HTTP/1 client that closes its
// connection while the upstream has not answered makes the proxy close
// the upstream connection (well before the 60 s read timeout) and log
// nginx's 499, as Kong does.
func TestClientAbortClosesUpstream(t *testing.T) {
	t.Parallel()
	h := start(t)
	up, arrived, gone := slowUpstream(t)
	h.service(up, nil, map[string]any{"paths": []any{"/slow"}})
	h.apply()

	c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", h.plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("GET /slow HTTP/1.1\r\nHost: example.com\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, arrived, "the request reaching the upstream")
	_ = c.Close()
	waitFor(t, gone, "the upstream connection closed after the client left")
	eventually(t, 5*time.Second, "the access log line with status 499", func() bool {
		return strings.Contains(h.access.String(), `"status":499`)
	})
}

// TestClientAbortHTTP2: an HTTP/2 stream cancelled by its client does the
// same.
func TestClientAbortHTTP2(t *testing.T) {
	t.Parallel()
	h := start(t)
	up, arrived, gone := slowUpstream(t)
	h.service(up, nil, map[string]any{"paths": []any{"/slow"}})
	h.apply()

	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+h.secure+"/slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := tlsClient("localhost", true).Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, arrived, "the request reaching the upstream")
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled request succeeded")
	}
	waitFor(t, gone, "the upstream connection closed after the stream was cancelled")
}

// TestSlowUpstreamStillAnswers: a client that stays, pipelining its next
// request while the first waits on a slow upstream, gets both answers:
// the watcher only acts on clients that hung up.
func TestSlowUpstreamStillAnswers(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" { // strip_path takes /wait off
			time.Sleep(1200 * time.Millisecond) // past the watcher's first checks
		}
		_, _ = w.Write([]byte("done " + r.URL.Path)) //nolint:gosec // a test upstream echoing its path
	})
	h.service(up, nil, map[string]any{"paths": []any{"/wait"}})
	h.apply()

	c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", h.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET /wait/slow HTTP/1.1\r\nHost: example.com\r\n\r\nGET /wait/next HTTP/1.1\r\nHost: example.com\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []string{"done /slow", "done /next"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer to %q: %v", want, err)
		}
		var b strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || b.String() != want {
			t.Errorf("answer %d %q, want 200 %q", resp.StatusCode, b.String(), want)
		}
	}
}
