package proxy_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawUpstream answers every request on a connection with response, and
// closes the connection when close is set.
func rawUpstream(t *testing.T, response string, closeAfter bool) string {
	t.Helper()
	ln, err := listen(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, response); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestUpstreamFramings(t *testing.T) {
	t.Parallel()
	h := start(t)
	routes := map[string]string{
		"/http10":      rawUpstream(t, "HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nold server body", true),
		"/close":       rawUpstream(t, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close", true),
		"/chunked":     rawUpstream(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n4\r\nchun\r\n3\r\nked\r\n0\r\nX-T: v\r\n\r\n", false),
		"/hop":         rawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nX-Public: yes\r\n\r\nok", false),
		"/garbage":     rawUpstream(t, "NOT HTTP AT ALL\r\n\r\n", true),
		"/nocontent":   rawUpstream(t, "HTTP/1.1 204 No Content\r\n\r\n", false),
		"/bad-chunked": rawUpstream(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true),
	}
	for path, url := range routes {
		h.service(url, map[string]any{"retries": int64(0)}, map[string]any{"paths": []any{path}})
	}
	h.apply()
	c := client()
	tests := []struct {
		path, body string
		status     int
		check      func(t *testing.T, r result)
	}{
		{"/http10", "old server body", 200, func(t *testing.T, r result) {
			t.Helper()
			if r.Header.Get("X-Old") != "yes" {
				t.Error("a header of the HTTP/1.0 response was lost")
			}
		}},
		{"/close", "until close", 200, nil},
		{"/chunked", "chunked", 200, func(t *testing.T, r result) {
			t.Helper()
			if r.Header.Get("Trailer") != "" {
				t.Error("Trailer announced though trailers are not forwarded")
			}
		}},
		{"/hop", "ok", 200, func(t *testing.T, r result) {
			t.Helper()
			for _, name := range []string{"X-Private", "Keep-Alive", "Proxy-Connection"} {
				if r.Header.Get(name) != "" {
					t.Errorf("hop-by-hop %s forwarded", name)
				}
			}
			if r.Header.Get("X-Public") != "yes" {
				t.Error("an end-to-end header was dropped")
			}
		}},
		{"/garbage", "", 502, nil},
		{"/nocontent", "", 204, nil},
	}
	for round := range 2 { // the second round reuses the client connection
		for _, tt := range tests {
			resp, body := do(t, c, mustRequest(t, http.MethodGet, h.url(tt.path), nil))
			if resp.StatusCode != tt.status || (tt.status == 200 && body != tt.body) {
				t.Errorf("round %d %s: %d %q, want %d %q", round, tt.path, resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
		}
	}
	// A chunked body that breaks after the header was sent cuts the
	// client's response short.
	resp, err := c.Do(mustRequest(t, http.MethodGet, h.url("/bad-chunked"), nil))
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	if err == nil {
		t.Error("a broken upstream body reached the client as complete")
	}
}

func TestClientMaxBodySize(t *testing.T) {
	t.Parallel()
	h := start(t, func(o *proxyOptions) { o.ClientMaxBodySize = 1000 })
	up := echoServer(t, "a")
	h.service(up.URL, nil, map[string]any{"paths": []any{"/limited"}})
	h.apply()
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"below", 1000, false, 200},
		{"above", 1001, false, 413},
		{"chunked below", 1000, true, 200},
		{"chunked above", 50000, true, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader = strings.NewReader(strings.Repeat("x", tc.size))
			if tc.chunked {
				body = io.MultiReader(body)
			}
			req := mustRequest(t, http.MethodPost, h.url("/limited"), body)
			resp, got := do(t, client(), req)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, got, tc.want)
			}
		})
	}
}
