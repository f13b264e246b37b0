package loadgen

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []Request
		wantErr bool
	}{
		{"paths and headers", "# comment\n/a\n\n/b\tapikey: k1\tX-Y: z\n", []Request{
			{Path: "/a"}, {Path: "/b", Header: [][2]string{{"apikey", "k1"}, {"X-Y", "z"}}},
		}, false},
		{"relative path", "a\n", nil, true},
		{"bad header", "/a\tnocolon\n", nil, true},
		{"empty", "# nothing\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRequests(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d requests, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Path != tt.want[i].Path || len(got[i].Header) != len(tt.want[i].Header) {
					t.Fatalf("request %d = %+v, want %+v", i, got[i], tt.want[i])
				}
				for j := range got[i].Header {
					if got[i].Header[j] != tt.want[i].Header[j] {
						t.Errorf("request %d header %d = %v, want %v", i, j, got[i].Header[j], tt.want[i].Header[j])
					}
				}
			}
		})
	}
}

func TestReadResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		status  int
		closed  bool
		wantErr bool
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nNEXT", 200, false, false},
		{"chunked with trailer", "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\nNEXT", 404, false, false},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nNEXT", 200, true, false},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nbody", 200, false, true},
		{"not http", "SSH-2.0\r\n\r\n", 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := bufio.NewReader(strings.NewReader(tt.in))
			status, err := readResponse(r)
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if tt.wantErr != (err != nil && err != errClosed) || tt.closed != (err == errClosed) { //nolint:errorlint // errClosed is returned unwrapped
				t.Fatalf("err = %v, want error %v, closed %v", err, tt.wantErr, tt.closed)
			}
			if err == nil || err == errClosed { //nolint:errorlint // errClosed is returned unwrapped
				rest, _ := r.ReadString(0)
				if rest != "NEXT" {
					t.Errorf("left %q after the response, want NEXT", rest)
				}
			}
		})
	}
}

// server answers every request with 200, except that a path of /close
// closes the connection and /missing answers 404; it counts requests.
func server(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case "/close":
			w.Header().Set("Connection", "close")
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
			return
		case "/chunked":
			_, _ = w.Write([]byte("a"))
			w.(http.Flusher).Flush()
		}
		if r.Header.Get("Apikey") != "" {
			w.Header().Set("X-Key", r.Header.Get("Apikey"))
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestSequential(t *testing.T) {
	t.Parallel()
	srv, n := server(t)
	target := Target{Addr: srv.Listener.Addr().String(), Requests: []Request{
		{Path: "/a", Header: [][2]string{{"apikey", "k"}}}, {Path: "/close"}, {Path: "/chunked"}, {Path: "/missing"},
	}}
	res, err := Sequential(t.Context(), target, 40, 4)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 30 || res.Errors != 10 || len(res.Latencies) != 30 {
		t.Errorf("ok %d errors %d latencies %d, want 30, 10, 30", res.OK, res.Errors, len(res.Latencies))
	}
	if got := n.Load(); got != 44 {
		t.Errorf("server saw %d requests, want 44", got)
	}
	if !strings.HasPrefix(res.Line(), "ok=30 errors=10 ") {
		t.Errorf("Line() = %q", res.Line())
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	srv, n := server(t)
	target := Target{Addr: srv.Listener.Addr().String()}
	start := time.Now()
	res, err := Rate(t.Context(), target, 500, 400*time.Millisecond, 4)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if res.OK != 200 || res.Errors != 0 || n.Load() != 200 {
		t.Errorf("ok %d errors %d server %d, want 200 answered", res.OK, res.Errors, n.Load())
	}
	// Open loop: the requests are spread over the duration, not sent at once.
	if took < 350*time.Millisecond {
		t.Errorf("200 requests at 500/s took %v, want about 400ms", took)
	}
	if _, err := Rate(t.Context(), target, 0, time.Second, 1); err == nil {
		t.Error("Rate with a zero rate: no error")
	}
}
