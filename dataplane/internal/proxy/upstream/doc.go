// Package upstream is the proxy's HTTP/1.1 client side: pools of
// keep-alive connections to upstream addresses (one pool per address and
// TLS identity, LIFO, Kong's upstream_keepalive_* limits), dialing with
// Kong's connect timeout (TCP and the TLS handshake), response header
// reading (fasthttp's parser, 1xx skipped), and body framing in both
// directions: sized, chunked (trailers read and dropped) and
// close-delimited response bodies, chunked request bodies.
//
// A connection is owned by one request at a time: Pool.Get hands it out,
// and Conn.Release returns it (reusable only when its response was read
// to its clean end and neither side asked to close). Nothing here runs a
// goroutine per connection; a pooled connection that has been idle for a
// while is checked for a close from the upstream (a non-blocking peek)
// before it is reused, and the Transport's sweeper closes connections idle
// beyond the idle timeout.
package upstream
