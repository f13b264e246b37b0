// Package proxy is the data plane's traffic path: Kong's proxy runloop
// (kong/runloop/handler.lua) on two engines behind one request path.
//
// HTTP/1.1 (cleartext and TLS) is served by fasthttp; HTTP/2 (TLS only,
// ALPN "h2" on the same listener) by golang.org/x/net/http2. Both fill an
// exchange, the pooled per-request state, and call the same code: the
// client address (package realip), the request id, routing (package
// router), Kong's protocol checks and error bodies, the plugin chain
// (package chain, through the engine-neutral pdk.Context the exchange
// implements), the balancer (package balancer), the upstream call over
// the proxy's own HTTP/1.1 transport (package upstream), Kong's response
// headers, and the log phase. Bodies stream both ways unless a plugin
// needs them whole.
//
// The runtime parts the proxy reads are built by gateway.Extensions this
// package provides: "router" (RouterExtension), "balancer"
// (BalancerExtension) and "tls" (TLSExtension); the plugin chains are the
// chain package's part. A request loads the runtime once and finishes on
// it.
//
// # Upstream requests
//
// The request line and headers are written straight from the client's
// request: hop-by-hop headers (Connection and the headers it names,
// Keep-Alive, Proxy-Connection, Proxy, TE, Transfer-Encoding, Expect,
// Upgrade unless a websocket) are dropped, plugins' changes applied, and
// Kong's headers set: Host (preserve_host, else the picked address's host
// name, with its port unless the scheme's default), X-Forwarded-For
// (appended to), X-Forwarded-Proto/Host/Port/Path/Prefix (the client's
// values only from trusted addresses), X-Real-IP, Via, X-Kong-Request-Id
// and the W3C trace context of the upstream span. The body is forwarded
// with its length, or chunked.
//
// Retries (service.retries) pick another address when a try failed to
// connect, or, for an idempotent method whose body was not streamed, when
// the connection broke before a response. Timeouts are never retried.
package proxy
