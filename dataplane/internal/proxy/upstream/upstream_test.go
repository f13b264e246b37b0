package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// rawServer answers every connection with fn, given what it reads.
func rawServer(t *testing.T, fn func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
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
				fn(c, bufio.NewReader(c))
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a GET on c and reads the response header into h.
func roundTrip(t *testing.T, c *Conn, h *fasthttp.ResponseHeader) error {
	t.Helper()
	if _, err := c.Writer().WriteString("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return err
	}
	if err := c.Writer().Flush(); err != nil {
		return err
	}
	return c.ReadResponseHeader(h)
}

func TestBodyFramings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		response  string
		want      string
		reusable  bool
		wantError error
	}{
		{"sized", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello", true, nil},
		{"empty", "HTTP/1.1 204 No Content\r\n\r\n", "", true, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", "hello world", true, nil},
		{"chunked trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", "abc", true, nil},
		{"chunked bare LF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n", "abc", true, nil},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nall of it", "all of it", false, nil},
		{"interim 100 skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", true, nil},
		{"sized cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "short", false, io.ErrUnexpectedEOF},
		{"chunked cut short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "hel", false, io.ErrUnexpectedEOF},
		{"chunk size garbage", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "", false, ErrMalformedChunk},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", "abc", false, ErrMalformedChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				_, _ = io.WriteString(c, tt.response)
			})
			tr := New(Options{})
			defer tr.Close()
			c, err := tr.Pool(Key{Addr: addr}).Get(t.Context(), time.Second, nil)
			if err != nil {
				t.Fatal(err)
			}
			var h fasthttp.ResponseHeader
			if err := roundTrip(t, c, &h); err != nil {
				t.Fatal(err)
			}
			var b Body
			b.Reset(c, int64(h.ContentLength()), time.Second)
			if h.StatusCode() == http.StatusNoContent {
				b.Reset(c, 0, time.Second)
			}
			got, err := io.ReadAll(&b)
			if string(got) != tt.want {
				t.Errorf("body %q, want %q", got, tt.want)
			}
			if tt.wantError == nil && err != nil {
				t.Errorf("read: %v", err)
			}
			if tt.wantError != nil && !errors.Is(err, tt.wantError) {
				t.Errorf("read error %v, want %v", err, tt.wantError)
			}
			if b.Reusable() != tt.reusable {
				t.Errorf("Reusable() = %v, want %v", b.Reusable(), tt.reusable)
			}
			c.Release(b.Reusable())
		})
	}
}

func TestPoolReuseAndStaleConnections(t *testing.T) {
	t.Parallel()
	conns := make(chan net.Conn, 10)
	addr := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		conns <- c
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
		}
	})
	tr := New(Options{PoolSize: 2})
	defer tr.Close()
	p := tr.Pool(Key{Addr: addr})
	use := func() *Conn {
		t.Helper()
		c, err := p.Get(t.Context(), time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		var h fasthttp.ResponseHeader
		if err := roundTrip(t, c, &h); err != nil {
			t.Fatal(err)
		}
		var b Body
		b.Reset(c, int64(h.ContentLength()), time.Second)
		if _, err := io.ReadAll(&b); err != nil {
			t.Fatal(err)
		}
		c.Release(b.Reusable())
		return c
	}
	first := use()
	if first.Reused() {
		t.Error("a new connection says it was reused")
	}
	second := use()
	if second != first || !second.Reused() {
		t.Fatal("the idle connection was not reused")
	}
	if tr.Idle() != 1 {
		t.Fatalf("Idle() = %d, want 1", tr.Idle())
	}
	// The upstream closes the idle connection; after checkAfter, Get
	// notices and dials a new one instead.
	server := <-conns
	_ = server.Close()
	first.idleAt = time.Now().Add(-2 * checkAfter)
	third := use()
	if third == first {
		t.Error("a connection closed by the upstream was reused")
	}
	if tr.Idle() != 1 {
		t.Errorf("Idle() = %d after the stale connection was dropped, want 1", tr.Idle())
	}
}

func TestIdleTimeoutSweep(t *testing.T) {
	t.Parallel()
	addr := rawServer(t, func(_ net.Conn, br *bufio.Reader) { _, _ = io.Copy(io.Discard, br) })
	tr := New(Options{IdleTimeout: 300 * time.Millisecond})
	defer tr.Close()
	c, err := tr.Pool(Key{Addr: addr}).Get(t.Context(), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Release(true)
	if tr.Idle() != 1 {
		t.Fatalf("Idle() = %d, want 1", tr.Idle())
	}
	deadline := time.Now().Add(5 * time.Second)
	for tr.Idle() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not close the idle connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	tr := New(Options{})
	defer tr.Close()
	_, err = tr.Pool(Key{Addr: addr}).Get(t.Context(), time.Second, nil)
	if !errors.Is(err, ErrConnect) {
		t.Errorf("refused connection: %v, want ErrConnect", err)
	}
	// A dial that never completes times out, and is a timeout.
	slow := New(Options{Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	defer slow.Close()
	_, err = slow.Pool(Key{Addr: "192.0.2.1:80"}).Get(t.Context(), 50*time.Millisecond, nil)
	if !errors.Is(err, ErrConnect) || !IsTimeout(err) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow connect: %v, want a connect timeout", err)
	}
}

func TestReadTimeout(t *testing.T) {
	t.Parallel()
	addr := rawServer(t, func(_ net.Conn, br *bufio.Reader) { _, _ = io.Copy(io.Discard, br) })
	tr := New(Options{})
	defer tr.Close()
	c, err := tr.Pool(Key{Addr: addr}).Get(t.Context(), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(50 * time.Millisecond)
	var h fasthttp.ResponseHeader
	if err := roundTrip(t, c, &h); !IsTimeout(err) {
		t.Errorf("silent upstream: %v, want a timeout", err)
	}
}

func TestNoResponse(t *testing.T) {
	t.Parallel()
	addr := rawServer(t, func(_ net.Conn, br *bufio.Reader) { _, _ = http.ReadRequest(br) })
	tr := New(Options{})
	defer tr.Close()
	c, err := tr.Pool(Key{Addr: addr}).Get(t.Context(), time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var h fasthttp.ResponseHeader
	if err := roundTrip(t, c, &h); !errors.Is(err, ErrNoResponse) {
		t.Errorf("closed without answer: %v, want ErrNoResponse", err)
	}
}

func TestChunkedWriter(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	cw := ChunkedWriter{W: w}
	for _, part := range []string{"hello", "", strings.Repeat("x", 300)} {
		if _, err := cw.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(httputil.NewChunkedReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello"+strings.Repeat("x", 300) {
		t.Errorf("decoded %q", got)
	}
}

func TestTLSDial(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "tls") }))
	defer srv.Close()
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.ServerName = "example.com"
	tr := New(Options{})
	defer tr.Close()
	c, err := tr.Pool(Key{Addr: srv.Listener.Addr().String(), TLS: "example.com"}).Get(t.Context(), time.Second, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS() == nil {
		t.Fatal("no TLS state")
	}
	var h fasthttp.ResponseHeader
	if err := roundTrip(t, c, &h); err != nil {
		t.Fatal(err)
	}
	var b Body
	b.Reset(c, int64(h.ContentLength()), time.Second)
	if got, _ := io.ReadAll(&b); string(got) != "tls" {
		t.Errorf("body %q", got)
	}
	c.Release(b.Reusable())
}
