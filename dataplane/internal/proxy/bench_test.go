package proxy_test

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// fastUpstream is a minimal fasthttp upstream answering "ok".
func fastUpstream(b *testing.B) string {
	b.Helper()
	ln, err := listen(b)
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok\n") }}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// BenchmarkProxy is the cost of one plainly proxied request, in process:
// a keep-alive client, the proxy (routing, Kong's headers, upstream pool,
// access log to a buffer) and a fasthttp upstream. allocs/op counts the
// whole process.
func BenchmarkProxy(b *testing.B) {
	for _, tc := range []struct {
		name   string
		access bool
	}{{"access log off", false}, {"access log on", true}} {
		b.Run(tc.name, func(b *testing.B) {
			h := startBench(b, tc.access)
			up := fastUpstream(b)
			h.service("http://"+up, nil, map[string]any{"paths": []any{"/bench"}})
			h.apply()
			c := &fasthttp.HostClient{Addr: h.plain, MaxConns: 1}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + h.plain + "/bench/x")
			req.Header.Set("User-Agent", "bench")
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Do(req, resp); err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != 200 {
					b.Fatalf("status %d", resp.StatusCode())
				}
			}
		})
	}
}
