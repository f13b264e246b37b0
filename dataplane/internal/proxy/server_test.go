package proxy_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	h := start(t)
	arrived := make(chan struct{})
	release := make(chan struct{})
	up := echoServerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		echoHandler("slow")(w, r)
	})
	h.service(up, nil, map[string]any{"paths": []any{"/slow"}})
	h.apply()

	result := make(chan int, 1)
	go func() {
		resp, err := client().Do(mustRequest(t, http.MethodGet, h.url("/slow"), nil))
		if err != nil {
			result <- 0
			return
		}
		_ = resp.Body.Close()
		result <- resp.StatusCode
	}()
	<-arrived
	stopped := make(chan struct{})
	go func() {
		h.stop()
		close(stopped)
	}()
	// New connections are refused once shutdown began.
	eventually(t, 5*time.Second, "the listener to close", func() bool {
		d := net.Dialer{Timeout: 100 * time.Millisecond}
		c, err := d.DialContext(t.Context(), "tcp", h.plain)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	})
	select {
	case <-stopped:
		t.Fatal("shutdown did not wait for the request in flight")
	default:
	}
	close(release)
	if status := <-result; status != http.StatusOK {
		t.Errorf("the request in flight got %d, want 200", status)
	}
	<-stopped
}

func TestShutdownDeadlineCutsLongRequests(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := newSlowServer(t, time.Hour)
	h.service(up, nil, map[string]any{"paths": []any{"/forever"}})
	h.apply()
	done := make(chan error, 1)
	go func() {
		resp, err := client().Do(mustRequest(t, http.MethodGet, h.url("/forever"), nil))
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	eventually(t, 5*time.Second, "the request to be in flight", func() bool { return h.srv.Stats().Writing > 0 })
	start := time.Now()
	h.stop() // the harness's shutdown timeout is 2 s
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if err := <-done; err == nil {
		t.Error("the endless request completed")
	}
}

func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServer(t, "a")
	svc := h.service(up.URL, nil, map[string]any{"paths": []any{"/logged"}})
	h.apply()
	resp, body := get(t, h.url("/logged/x?y=1"))
	rid := resp.Header.Get("X-Kong-Request-Id")
	var line map[string]any
	eventually(t, 5*time.Second, "the access log line", func() bool {
		for l := range strings.SplitSeq(h.access.String(), "\n") {
			if strings.Contains(l, rid) {
				return json.Unmarshal([]byte(l), &line) == nil
			}
		}
		return false
	})
	want := map[string]any{
		"client_ip": "127.0.0.1", "method": "GET", "path": "/logged/x?y=1", "status": float64(200),
		"request_id": rid, "service_id": svc, "upstream_addr": hostOf(up), "consumer_id": "",
		"response_size": float64(len(body)), "request_size": float64(0),
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if id, _ := line["route_id"].(string); len(id) != 36 {
		t.Errorf("route_id %v", line["route_id"])
	}
	lat, _ := line["latencies"].(map[string]any)
	for _, k := range []string{"kong", "proxy", "request"} {
		if _, ok := lat[k].(float64); !ok {
			t.Errorf("latencies.%s missing: %v", k, line["latencies"])
		}
	}
	if ts, _ := line["time"].(string); ts == "" {
		t.Error("no time")
	} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("time %q: %v", ts, err)
	}
}

func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServer(t, "a")
	h.service(up.URL, nil, map[string]any{"paths": []any{"/"}})
	h.apply()
	tests := []struct {
		name    string
		request string
		status  int
		message string
	}{
		{"long URI", "GET /" + strings.Repeat("a", 10<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI too long"},
		{"URI above the header limit", "GET /" + strings.Repeat("a", 20<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI too long"},
		{"large header", "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("c", 20<<10) + "\r\n\r\n", 494, "Request header or cookie too large"},
		{"many headers", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Many: "+strings.Repeat("m", 100)+"\r\n", 200) + "\r\n", 494, "Request header or cookie too large"},
		{"fits", "GET /" + strings.Repeat("a", 4<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			head, body := rawGet(t, h.plain, tt.request)
			if !strings.HasPrefix(head, strconv.Itoa(tt.status)+"\n") {
				t.Fatalf("head %q, want %d", head, tt.status)
			}
			if tt.message != "" && !strings.Contains(body, `"message":"`+tt.message+`"`) {
				t.Errorf("body %q", body)
			}
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServer(t, "a")
	h.service(up.URL, nil, map[string]any{"paths": []any{"/s"}})
	h.apply()
	c := client()
	for range 5 {
		resp, _ := do(t, c, mustRequest(t, http.MethodGet, h.url("/s"), nil))
		if resp.StatusCode != http.StatusOK {
			t.Fatal(resp.StatusCode)
		}
	}
	s := h.srv.Stats()
	if s.TotalRequests != 5 || s.Accepted < 1 || s.Active < 1 || s.Handled != s.Accepted {
		t.Errorf("stats %+v", s)
	}
	eventually(t, 5*time.Second, "the keep-alive connection to wait", func() bool {
		s := h.srv.Stats()
		return s.Waiting >= 1 && s.Writing == 0 && s.Reading == 0
	})
	c.CloseIdleConnections()
	eventually(t, 5*time.Second, "the connection to close", func() bool { return h.srv.Stats().Active == 0 })
}
