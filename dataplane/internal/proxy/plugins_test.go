package proxy_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/shared/entity"
)

// The test plugins take the names of bundled plugins (their schemas
// validate the empty configurations used here) but behave as the tests
// need; the proxy only sees pdk.

// accessPlugin acts on the request as its X-Action header says.
type accessPlugin struct{}

func (accessPlugin) Name() string                         { return "request-termination" }
func (accessPlugin) New(pdk.Config) (pdk.Instance, error) { return accessPlugin{}, nil }

func (accessPlugin) Access(ctx pdk.Context) error {
	req, up := ctx.Request(), ctx.Upstream()
	switch req.Header("X-Action") {
	case "edit":
		up.SetHeader("X-Set", "set")
		up.AddHeader("X-Added", "one")
		up.AddHeader("X-Added", "two")
		up.DelHeader("X-Remove")
		up.SetHeader("X-Emptied", "") // removes, as ngx.req.set_header does
		up.SetHeader("Host", "edited.example")
		up.SetPath("/edited path")
		up.SetRawQuery("a=1&b=2")
		up.SetMethod("put")
		up.SetBody([]byte("new body"))
		if up.Header("X-Set") != "set" || up.Header("X-Remove") != "" || up.Header("X-Kept") != "kept" {
			return errTest("Upstream.Header does not see the edits")
		}
		if req.Header("x_kept") != "kept" {
			return errTest("an underscore does not stand for a hyphen in a lookup")
		}
		for name := range req.Headers {
			if strings.Contains(name, "_") {
				return errTest("the client's header " + name + " was not dropped")
			}
		}
		if q, ok := req.Query("flag"); !ok || q != "true" || req.Path() != "/plug/in" {
			return errTest("Request is wrong: " + q + " " + req.Path())
		}
	case "exit":
		ctx.Exit(http.StatusTeapot, map[string]any{"short": "circuit"}, map[string]string{"X-Exit": "yes"})
	case "text":
		ctx.Exit(http.StatusOK, "plain text", nil)
	case "error":
		ctx.Error(http.StatusForbidden, "You cannot consume this service", nil)
	case "fail":
		return errTest("the plugin failed")
	case "auth":
		ctx.Authenticate(&pdk.Consumer{ID: "consumer-1", Username: "alice"}, &pdk.Credential{ID: "cred-1", ConsumerID: "consumer-1"})
	case "conn":
		c := ctx.Connection()
		ctx.Upstream().SetHeader("X-Conn", fmt.Sprintf("%s %d %d %d", c.ServerAddr, c.ServerPort, c.Serial, c.Requests))
	case "captures":
		unnamed, named := ctx.URICaptures()
		ctx.Upstream().SetHeader("X-Captures", fmt.Sprint(unnamed, named))
	case "body":
		b, err := req.Body()
		if err != nil {
			return err
		}
		ctx.Upstream().SetHeader("X-Body-Seen", string(b))
	}
	return nil
}

type errTest string

func (e errTest) Error() string { return string(e) }

// filterPlugin changes responses: a header always, the body when asked.
type filterPlugin struct{}

func (filterPlugin) Name() string                         { return "response-transformer" }
func (filterPlugin) New(pdk.Config) (pdk.Instance, error) { return filterPlugin{}, nil }

func (filterPlugin) HeaderFilter(ctx pdk.Context) {
	r := ctx.Response()
	from := "local"
	if r.FromUpstream() {
		from = "upstream"
	}
	r.SetHeader("X-Filtered", from)
	r.SetHeader("X-Upstream-Only", "") // removes, as assigning "" to ngx.header does
}

func (filterPlugin) WantsBody(ctx pdk.Context) bool {
	return ctx.Request().Header("X-Upper") != ""
}

func (filterPlugin) BodyFilter(_ pdk.Context, body []byte) []byte { return bytes.ToUpper(body) }

// logPlugin records what the log phase sees.
type logPlugin struct{ logged chan logged }

type logged struct {
	status                        int
	route, service, consumer, rid string
	request                       time.Duration
	clientIP                      string
}

func (p *logPlugin) Name() string                         { return "correlation-id" }
func (p *logPlugin) New(pdk.Config) (pdk.Instance, error) { return p, nil }

func (p *logPlugin) Log(ctx pdk.Context) {
	l := logged{
		route: ctx.RouteID(), service: ctx.ServiceID(), rid: ctx.RequestID(), clientIP: ctx.ClientIP(),
		request: ctx.Latencies().Request,
	}
	if r := ctx.Response(); r != nil {
		l.status = r.Status()
	}
	if c := ctx.Consumer(); c != nil {
		l.consumer = c.ID
	}
	p.logged <- l
}

// TestPlugins runs its cases in order: they share the log plugin's
// channel.
func TestPlugins(t *testing.T) {
	lp := &logPlugin{logged: make(chan logged, 100)}
	h := startWithChain(t, accessPlugin{}, filterPlugin{}, lp)
	up := echoServer(t, "a")
	svc := h.service(up.URL, nil, map[string]any{"paths": []any{"/plug"}})
	for _, name := range []string{"request-termination", "response-transformer", "correlation-id"} {
		h.add(entity.Plugins, map[string]any{"name": name})
	}
	h.add(entity.Routes, map[string]any{"paths": []any{`~/cap/(?<id>\d+)/(\w+)`}, "service": map[string]any{"id": svc}})
	h.apply()

	t.Run("upstream edits", func(t *testing.T) {
		req := mustRequest(t, http.MethodPost, h.url("/plug/in?flag"), strings.NewReader("old body"))
		req.Header.Set("X-Action", "edit")
		req.Header.Set("X-Remove", "gone")
		req.Header.Set("X-Kept", "kept")
		req.Header.Set("X-Emptied", "client")
		// nginx drops a header with an underscore: X_Kept must not
		// reach an upstream that reads it as X-Kept (CGI's HTTP_X_KEPT).
		req.Header["X_Kept"] = []string{"spoofed"}
		resp, body := do(t, client(), req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		e := decodeEcho(t, body)
		if e.Method != http.MethodPut || e.URI != "/edited%20path?a=1&b=2" || e.Host != "edited.example" || e.Body != len("new body") {
			t.Errorf("upstream saw %s %s host %s body %d", e.Method, e.URI, e.Host, e.Body)
		}
		if header(e, "X-Set") != "set" || header(e, "X-Added") != "one, two" || header(e, "X-Remove") != "" || header(e, "X-Kept") != "kept" {
			t.Errorf("upstream headers %v", e.Header)
		}
		if _, ok := e.Header["X-Emptied"]; ok {
			t.Errorf("a header set to \"\" still reached the upstream: %v", e.Header)
		}
		for name := range e.Header {
			if strings.Contains(name, "_") {
				t.Errorf("the client's header %s reached the upstream", name)
			}
		}
		if v, ok := resp.Header["X-Upstream-Only"]; ok {
			t.Errorf("a response header set to \"\" still reached the client: %q", v)
		}
		if resp.Header.Get("X-Filtered") != "upstream" {
			t.Errorf("header filter: %q", resp.Header.Get("X-Filtered"))
		}
		l := <-lp.logged
		if l.status != 200 || l.service != svc || l.route == "" || l.rid != resp.Header.Get("X-Kong-Request-Id") ||
			l.clientIP != "127.0.0.1" || l.request <= 0 {
			t.Errorf("log phase saw %+v", l)
		}
	})

	t.Run("exit", func(t *testing.T) {
		resp, body := get(t, h.url("/plug"), "X-Action", "exit")
		if resp.StatusCode != http.StatusTeapot || body != `{"short":"circuit"}` ||
			resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || resp.Header.Get("X-Exit") != "yes" {
			t.Errorf("exit: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		if resp.Header.Get("X-Filtered") != "local" || resp.Header.Get("X-Kong-Response-Latency") == "" {
			t.Errorf("a plugin's answer lacks the header filter's or Kong's headers: %v", resp.Header)
		}
		if l := <-lp.logged; l.status != http.StatusTeapot {
			t.Errorf("log phase status %d", l.status)
		}
	})

	t.Run("text exit", func(t *testing.T) {
		resp, body := get(t, h.url("/plug"), "X-Action", "text")
		if resp.StatusCode != http.StatusOK || body != "plain text" {
			t.Errorf("text exit: %d %s", resp.StatusCode, body)
		}
		<-lp.logged
	})

	t.Run("error", func(t *testing.T) {
		resp, body := get(t, h.url("/plug"), "X-Action", "error", "Accept", "text/plain")
		want := "You cannot consume this service\nrequest_id: " + resp.Header.Get("X-Kong-Request-Id") + "\n"
		if resp.StatusCode != http.StatusForbidden || body != want {
			t.Errorf("error: %d %q, want %q", resp.StatusCode, body, want)
		}
		<-lp.logged
	})

	t.Run("plugin failure", func(t *testing.T) {
		resp, body := get(t, h.url("/plug"), "X-Action", "fail")
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "An unexpected error occurred") {
			t.Errorf("failure: %d %s", resp.StatusCode, body)
		}
		<-lp.logged
	})

	t.Run("consumer", func(t *testing.T) {
		get(t, h.url("/plug"), "X-Action", "auth")
		if l := <-lp.logged; l.consumer != "consumer-1" {
			t.Errorf("log phase consumer %q", l.consumer)
		}
	})

	t.Run("request body", func(t *testing.T) {
		req := mustRequest(t, http.MethodPost, h.url("/plug"), strings.NewReader("the body"))
		req.Header.Set("X-Action", "body")
		_, body := do(t, client(), req)
		e := decodeEcho(t, body)
		if header(e, "X-Body-Seen") != "the body" || e.Body != len("the body") {
			t.Errorf("a plugin read %q; the upstream got %d bytes", header(e, "X-Body-Seen"), e.Body)
		}
		<-lp.logged
	})

	t.Run("uri captures", func(t *testing.T) {
		_, body := get(t, h.url("/cap/42/x"), "X-Action", "captures")
		if got, want := header(decodeEcho(t, body), "X-Captures"), "map[0:/cap/42/x 1:42 2:x] map[id:42]"; got != want {
			t.Errorf("URICaptures = %q, want %q", got, want)
		}
		<-lp.logged
		_, body = get(t, h.url("/plug"), "X-Action", "captures")
		if got, want := header(decodeEcho(t, body), "X-Captures"), "map[] map[]"; got != want {
			t.Errorf("URICaptures of a prefix route = %q, want %q", got, want)
		}
		<-lp.logged
	})

	t.Run("connection", func(t *testing.T) {
		c := client() // keeps the connection alive between the two
		var seen []string
		for range 2 {
			_, body := do(t, c, withHeader(mustRequest(t, http.MethodGet, h.url("/plug"), nil), "X-Action", "conn"))
			seen = append(seen, header(decodeEcho(t, body), "X-Conn"))
			<-lp.logged
		}
		_, port, _ := net.SplitHostPort(h.plain)
		var serial [2]uint64
		for i, v := range seen {
			var addr string
			var gotPort int
			var reqs uint64
			if _, err := fmt.Sscanf(v, "%s %d %d %d", &addr, &gotPort, &serial[i], &reqs); err != nil ||
				addr != "127.0.0.1" || strconv.Itoa(gotPort) != port || reqs != uint64(i+1) {
				t.Errorf("request %d: Connection() = %q, want 127.0.0.1 %s <serial> %d", i+1, v, port, i+1)
			}
		}
		if serial[0] == 0 || serial[0] != serial[1] {
			t.Errorf("connection serials %v: want one non-zero serial", serial)
		}
	})

	t.Run("body filter", func(t *testing.T) {
		resp, body := get(t, h.url("/plug"), "X-Upper", "1")
		if !strings.Contains(body, `"NAME":"A"`) || resp.Header.Get("Content-Length") != itoaLen(body) {
			t.Errorf("body filter: %v %s", resp.Header, body)
		}
		<-lp.logged
	})

	t.Run("no route runs global plugins", func(t *testing.T) {
		resp, _ := get(t, h.url("/nowhere"))
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Filtered") != "local" {
			t.Errorf("404: %d %v", resp.StatusCode, resp.Header)
		}
		if l := <-lp.logged; l.status != http.StatusNotFound || l.route != "" {
			t.Errorf("log phase of a 404: %+v", l)
		}
	})
}

func itoaLen(s string) string { return strconvItoa(len(s)) }

func withHeader(req *http.Request, name, value string) *http.Request {
	req.Header.Set(name, value)
	return req
}
