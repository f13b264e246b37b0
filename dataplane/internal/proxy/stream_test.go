package proxy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pattern is a reader of n bytes of a repeating pattern that allocates
// nothing.
type pattern struct{ left, off int64 }

// patternBlock holds the pattern from every phase: a read copies from it.
var patternBlock = func() []byte {
	b := make([]byte, 64<<10+251)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left, 64<<10)
	copy(b, patternBlock[p.off%251:])
	p.off += n
	p.left -= n
	return int(n), nil
}

func patternSum(n int64) string {
	h := sha256.New()
	_, _ = io.Copy(h, &pattern{left: n})
	return hex.EncodeToString(h.Sum(nil))
}

// bodyUpstream hashes what it receives (answering "<bytes> <sha256>") and
// sends /download?n=N bytes of the pattern, sized or chunked.
func bodyUpstream(t *testing.T) string {
	t.Helper()
	return echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/download") {
			n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
			if r.URL.Query().Get("chunked") == "" {
				w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			}
			_, _ = io.CopyBuffer(w, &pattern{left: n}, make([]byte, 32<<10))
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, _ = fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
	})
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func TestLargeBodiesStream(t *testing.T) {
	// Not parallel: it measures allocations of the whole process.
	const size = 64 << 20
	h := start(t)
	up := bodyUpstream(t)
	h.service(up, nil, map[string]any{"paths": []any{"/big"}})
	h.apply()
	want := patternSum(size)
	c := client()

	tests := []struct {
		name    string
		request func() *http.Request
		check   func(t *testing.T, body string)
	}{
		{"upload sized", func() *http.Request {
			req := mustRequest(t, http.MethodPost, h.url("/big/up"), &pattern{left: size})
			req.ContentLength = size
			return req
		}, func(t *testing.T, body string) {
			t.Helper()
			if body != fmt.Sprintf("%d %s", size, want) {
				t.Errorf("upstream received %q", body)
			}
		}},
		{"upload chunked", func() *http.Request {
			return mustRequest(t, http.MethodPost, h.url("/big/up"), io.MultiReader(&pattern{left: size}))
		}, func(t *testing.T, body string) {
			t.Helper()
			if body != fmt.Sprintf("%d %s", size, want) {
				t.Errorf("upstream received %q", body)
			}
		}},
		{"download sized", func() *http.Request {
			return mustRequest(t, http.MethodGet, h.url(fmt.Sprintf("/big/download?n=%d", size)), nil)
		}, nil},
		{"download chunked", func() *http.Request {
			return mustRequest(t, http.MethodGet, h.url(fmt.Sprintf("/big/download?n=%d&chunked=1", size)), nil)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			before := totalAlloc()
			resp, err := c.Do(tt.request())
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.New()
			var small strings.Builder
			dst := io.MultiWriter(sum, &small)
			if tt.check == nil {
				dst = sum
			}
			n, err := io.CopyBuffer(dst, resp.Body, make([]byte, 32<<10))
			_ = resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, read %d: %v", resp.StatusCode, n, err)
			}
			allocated := totalAlloc() - before
			t.Logf("allocated %d KB in the process", allocated>>10)
			if tt.check != nil {
				tt.check(t, small.String())
			} else if n != size || hex.EncodeToString(sum.Sum(nil)) != want {
				t.Errorf("downloaded %d bytes, digest mismatch", n)
			}
			// Everything in this process (client, upstream, proxy) moved
			// 64 MB; a proxy that buffered would allocate at least that.
			if allocated > 8<<20 {
				t.Errorf("allocated %d MB while streaming 64 MB", allocated>>20)
			}
		})
	}
}

func TestUploadAnswer(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := bodyUpstream(t)
	h.service(up, nil, map[string]any{"paths": []any{"/big"}})
	h.apply()
	for _, size := range []int64{0, 10, 8 << 10, 8<<10 + 1, 1 << 20} {
		for _, chunked := range []bool{false, true} {
			var body io.Reader = &pattern{left: size}
			if chunked {
				body = io.MultiReader(body)
			}
			req := mustRequest(t, http.MethodPost, h.url("/big/up"), body)
			if !chunked {
				req.ContentLength = size
			}
			resp, got := do(t, client(), req)
			if want := fmt.Sprintf("%d %s", size, patternSum(size)); resp.StatusCode != http.StatusOK || got != want {
				t.Errorf("size %d chunked %v: %d %q, want %q", size, chunked, resp.StatusCode, got, want)
			}
		}
	}
}

func TestWebsocketPassThrough(t *testing.T) {
	t.Parallel()
	h := start(t)
	seen := make(chan http.Header, 1)
	up := echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		ctx := r.Context()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	})
	h.service(up, nil, map[string]any{"paths": []any{"/ws"}})
	h.apply()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+h.plain+"/ws/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	defer func() { _ = c.CloseNow() }()
	if resp.Header.Get("X-Kong-Request-Id") == "" {
		t.Error("the 101 has no request id")
	}
	hdr := <-seen
	if hdr.Get("X-Forwarded-For") != "127.0.0.1" || hdr.Get("Upgrade") != "websocket" {
		t.Errorf("upstream headers %v", hdr)
	}
	for i := range 200 {
		msg := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i*50))
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != msg {
			t.Fatalf("echo %d differs", i)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close: %v", err)
	}
	eventually(t, 5*time.Second, "the tunnel's access log line", func() bool {
		return strings.Contains(h.access.String(), `"status":101`)
	})
}
