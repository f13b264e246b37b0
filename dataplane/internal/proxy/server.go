package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/proxy/realip"
	"gatehouse.dev/dataplane/internal/proxy/tlsterm"
	"gatehouse.dev/dataplane/internal/proxy/upstream"
	"gatehouse.dev/shared/version"
)

// Client-side limits and timeouts (Kong's nginx defaults).
const (
	// DefaultMaxHeaderSize bounds a request's line and headers together.
	DefaultMaxHeaderSize = 16 << 10
	// maxRequestLine is nginx's large_client_header_buffers size: a longer
	// request URI is answered 414.
	maxRequestLine = 8 << 10
	// clientTimeout is nginx's client_header_timeout, client_body_timeout,
	// send_timeout and keepalive_timeout.
	clientTimeout = 60 * time.Second
	// handshakeTimeout bounds a client's TLS handshake.
	handshakeTimeout = 10 * time.Second
	// DefaultBodyBufferSize is what a plugin may read of a request body
	// (pdk.Request.Body) when Options.ClientBodyBufferSize is 0.
	DefaultBodyBufferSize = 1 << 20
	// maxBufferedResponse bounds a response body buffered for a body
	// filter.
	maxBufferedResponse = 64 << 20
	// replayableBody is the largest request body read whole before the
	// upstream call, so that a retry can send it again (Kong buffers
	// request bodies).
	replayableBody = 8 << 10
)

// Options configure a Server.
type Options struct {
	// Holder holds the runtime requests are served from.
	Holder *gateway.Holder
	// Logger receives the proxy's error lines; nil discards them.
	Logger *slog.Logger
	// AccessLog receives one JSON line per request; nil turns it off.
	AccessLog io.Writer
	// RealIP works out client addresses; nil trusts nobody.
	RealIP *realip.Resolver
	// Transport options for upstream connections.
	Upstream upstream.Options
	// TracerProvider makes the request spans; nil uses the global one.
	// A no-op provider turns tracing off (incoming trace context is then
	// forwarded as the client sent it).
	TracerProvider trace.TracerProvider
	// DefaultCertificate is served over TLS when no SNI matches and the
	// runtime has no TLS part; nil makes a self-signed one.
	DefaultCertificate *tls.Certificate
	// MaxHeaderSize bounds the request line and headers (494, or 414 for
	// the request line); 0 is DefaultMaxHeaderSize.
	MaxHeaderSize int
	// ClientMaxBodySize bounds request bodies (413); 0 means no limit.
	ClientMaxBodySize int64
	// ClientBodyBufferSize bounds what a plugin may read of a request
	// body; 0 is DefaultBodyBufferSize.
	ClientBodyBufferSize int64
	// ShutdownTimeout bounds the graceful part of Serve's shutdown;
	// 0 means 10 s.
	ShutdownTimeout time.Duration
}

// Server is the proxy. It is safe for concurrent use.
type Server struct {
	opts       Options
	log        *slog.Logger
	realIP     *realip.Resolver
	transport  *upstream.Transport
	tracer     trace.Tracer
	tracing    bool
	serverName string // "gatehouse/<version>", for Via and Server
	defCert    *tls.Certificate
	ctr        counters
	access     *accessLog
	pool       sync.Pool
	cur        atomic.Pointer[view]

	h1      *fasthttp.Server
	h2      *http.Server   // serves the TLS connections that chose "h2"
	h2conns sync.Map       // *tls.Conn → *tlsConn: the proxy's state of each
	tracked sync.Map       // net.Conn → struct{}: open HTTP/1 client connections
	waiting waitList       // exchanges waiting for an upstream response header (abort.go)
	conns   sync.WaitGroup // handshakes and websocket tunnels
}

// New returns a proxy serving from opts.Holder.
func New(opts Options) (*Server, error) {
	if opts.Holder == nil {
		return nil, errors.New("proxy: no runtime holder")
	}
	if opts.MaxHeaderSize <= 0 {
		opts.MaxHeaderSize = DefaultMaxHeaderSize
	}
	if opts.ClientBodyBufferSize <= 0 {
		opts.ClientBodyBufferSize = DefaultBodyBufferSize
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 10 * time.Second
	}
	s := &Server{
		opts: opts, log: opts.Logger, realIP: opts.RealIP,
		serverName: "gatehouse/" + version.Version,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.realIP == nil {
		s.realIP, _ = realip.New(nil, "X-Real-IP", false)
	}
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	_, isNoop := tp.(noop.TracerProvider)
	s.tracing = !isNoop
	s.tracer = tp.Tracer("gatehouse.dev/dataplane/internal/proxy")
	s.defCert = opts.DefaultCertificate
	if s.defCert == nil {
		c, err := tlsterm.SelfSigned(time.Now())
		if err != nil {
			return nil, fmt.Errorf("default certificate: %w", err)
		}
		s.defCert = c
	}
	if opts.AccessLog != nil {
		s.access = newAccessLog(opts.AccessLog)
	}
	s.transport = upstream.New(opts.Upstream)
	s.pool.New = func() any { return newExchange(s) }
	s.h1 = &fasthttp.Server{
		Handler:               s.serveH1,
		ErrorHandler:          s.errorH1,
		ConnState:             s.ctr.connStateHook,
		StreamRequestBody:     true,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		ReadBufferSize:        opts.MaxHeaderSize,
		WriteBufferSize:       16 << 10,
		ReadTimeout:           clientTimeout,
		WriteTimeout:          clientTimeout,
		IdleTimeout:           clientTimeout,
		MaxRequestBodySize:    1 << 62, // bodies stream; ClientMaxBodySize is enforced while streaming
		Logger:                fasthttpLogger{s.log},
	}
	s.h2 = &http.Server{
		Handler:           h2Handler{s},
		ReadHeaderTimeout: clientTimeout,
		IdleTimeout:       clientTimeout,
		MaxHeaderBytes:    opts.MaxHeaderSize,
		ConnContext:       s.h2ConnContext,
		ConnState:         s.h2ConnState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Stats returns the connection and request counters.
func (s *Server) Stats() Stats { return s.ctr.snapshot() }

// Transport is the upstream transport (its idle connections, for tests
// and the status API).
func (s *Server) Transport() *upstream.Transport { return s.transport }

// view returns the view of the current runtime.
func (s *Server) view() *view {
	rt := s.opts.Holder.Load()
	if v := s.cur.Load(); v != nil && v.rt == rt {
		return v
	}
	v := newView(rt)
	s.cur.Store(v)
	return v
}

// getCertificate chooses the certificate of a TLS handshake from the
// current runtime.
func (s *Server) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if st := s.view().certs; st != nil {
		if c, err := st.Certificate(hello); err == nil {
			return c, nil
		}
	}
	return s.defCert, nil
}

// TLSConfig is the proxy's TLS server configuration: certificates by SNI
// from the runtime, ALPN h2 and http/1.1.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: s.getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
		MinVersion:     tls.VersionTLS12,
	}
}

// Serve serves plain HTTP on plain and TLS on secure (either may be
// nil) until ctx is done, then shuts down gracefully: the listeners
// close, requests in flight get ShutdownTimeout to finish, and what is
// left is closed. It closes the listeners.
func (s *Server) Serve(ctx context.Context, plain, secure net.Listener) error {
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	if s.access != nil {
		wg.Go(func() { s.access.run(ctx) })
	}
	wg.Go(func() { s.watchClients(ctx) })
	var h1tls, h2tls *chanListener
	if plain != nil {
		wg.Go(func() {
			if err := s.h1.Serve(&countingListener{Listener: plain, ctr: &s.ctr, tracked: &s.tracked}); err != nil && !isClosed(err) {
				errs <- fmt.Errorf("proxy listener: %w", err)
			}
		})
	}
	if secure != nil {
		h1tls, h2tls = newChanListener(secure.Addr()), newChanListener(secure.Addr())
		wg.Go(func() {
			if err := s.h1.Serve(h1tls); err != nil && !isClosed(err) {
				errs <- fmt.Errorf("proxy TLS listener: %w", err)
			}
		})
		wg.Go(func() {
			if err := s.h2.Serve(h2tls); err != nil && !isClosed(err) && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("proxy TLS listener (HTTP/2): %w", err)
			}
		})
		wg.Go(func() {
			if err := s.acceptTLS(ctx, secure, h1tls, h2tls); err != nil {
				errs <- err
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	s.shutdown(context.WithoutCancel(ctx), plain, secure, h1tls)
	wg.Wait()
	s.transport.Close()
	return err
}

// shutdown stops accepting, lets requests finish within the timeout, then
// closes every connection left.
func (s *Server) shutdown(ctx context.Context, plain, secure net.Listener, h1tls *chanListener) {
	if secure != nil {
		_ = secure.Close()
		_ = h1tls.Close()
	}
	if plain != nil {
		_ = plain.Close()
	}
	sctx, cancel := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	defer cancel()
	var h2done sync.WaitGroup
	h2done.Go(func() {
		// GOAWAY on HTTP/2 connections, then wait for their streams.
		if err := s.h2.Shutdown(sctx); err != nil {
			_ = s.h2.Close()
		}
	})
	if err := s.h1.ShutdownWithContext(sctx); err != nil {
		s.log.Warn("proxy shutdown: requests still in flight were cut", slog.String("error", err.Error()))
	}
	h2done.Wait()
	done := make(chan struct{})
	go func() {
		s.conns.Wait()
		close(done)
	}()
	if sctx.Err() == nil {
		select {
		case <-done:
			return
		case <-sctx.Done():
		}
	}
	// The deadline passed: cut what is left, client and upstream sides.
	s.tracked.Range(func(k, _ any) bool {
		_ = k.(net.Conn).Close()
		return true
	})
	s.transport.Abort()
	<-done
}

// acceptTLS accepts TLS connections, handshakes each in its own goroutine
// and hands it to HTTP/2 or fasthttp by ALPN.
func (s *Server) acceptTLS(ctx context.Context, ln net.Listener, h1, h2 *chanListener) error {
	cfg := s.TLSConfig()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if isClosed(err) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("proxy TLS listener: %w", err)
		}
		s.conns.Add(1)
		go s.handshake(ctx, nc, cfg, h1, h2)
	}
}

func (s *Server) handshake(ctx context.Context, nc net.Conn, cfg *tls.Config, h1, h2 *chanListener) {
	defer s.conns.Done()
	tc := tls.Server(nc, cfg)
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = tc.Close()
		return
	}
	st := tc.ConnectionState()
	c := &tlsConn{Conn: tc, sni: st.ServerName, ctr: &s.ctr}
	s.ctr.opened(&c.cs)
	if st.NegotiatedProtocol == "h2" {
		// net/http serves it: it must see the *tls.Conn itself.
		s.h2conns.Store(tc, c)
		if !h2.give(tc) {
			s.h2conns.Delete(tc)
			_ = c.Close()
		}
		return
	}
	c.tracked = &s.tracked
	s.tracked.Store(net.Conn(c), struct{}{})
	if !h1.give(c) {
		_ = c.Close()
	}
}

// h2ConnContext gives the streams of an HTTP/2 connection its state.
func (s *Server) h2ConnContext(ctx context.Context, nc net.Conn) context.Context {
	if c, ok := s.h2conns.Load(nc); ok {
		return context.WithValue(ctx, h2ConnKey{}, c)
	}
	return ctx
}

// h2ConnState uncounts HTTP/2 connections as they close.
func (s *Server) h2ConnState(nc net.Conn, st http.ConnState) {
	if st != http.StateClosed && st != http.StateHijacked {
		return
	}
	if c, ok := s.h2conns.LoadAndDelete(nc); ok {
		s.ctr.closed(&c.(*tlsConn).cs)
	}
}

// fasthttpLogger sends fasthttp's own log lines to the proxy's logger.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...))
}
