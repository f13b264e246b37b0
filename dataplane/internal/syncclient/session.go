package syncclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/protocol"
)

// errBadMessage marks a frame from the control plane that does not decode;
// the session is closed and opened again.
var errBadMessage = errors.New("bad message from control plane")

// frame is one message read from the control plane.
type frame struct {
	msg      protocol.Message
	received time.Time
	err      error
}

// session runs one session with the control plane at addr until it ends
// or ctx is done. established reports whether Hello was sent.
func (c *Client) session(ctx context.Context, addr string) (established bool, err error) {
	c.state.Connecting(addr)
	conn, closeIdle, err := c.dial(ctx, addr)
	if err != nil {
		return false, err
	}
	defer closeIdle()
	defer func() { _ = conn.CloseNow() }()

	rt := c.holder.Load()
	hello := &protocol.Hello{
		NodeID: c.opts.Identity.NodeID, Hostname: c.opts.Identity.Hostname, Version: c.opts.Identity.Version,
		Plugins: c.opts.Identity.Plugins, Labels: c.opts.Identity.Labels,
		Revision: rt.Revision(), ConfigHash: rt.ReportedHash(),
	}
	if err := c.write(ctx, conn, hello); err != nil {
		return false, fmt.Errorf("send hello: %w", err)
	}
	c.state.Connected(addr, time.Now())
	c.log.Info("connected to control plane "+addr, slog.String("control_plane", addr),
		slog.Int64("revision", hello.Revision), slog.String("config_hash", hello.ConfigHash))

	// The reader's context outlives ctx, so that at shutdown the close
	// handshake still reads the control plane's answer.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	in := make(chan frame)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.read(sctx, conn, in)
	}()
	defer func() {
		cancel()
		<-readDone
	}()

	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	silence := time.NewTimer(c.opts.PingTimeout)
	defer silence.Stop()
	for {
		select {
		case <-ctx.Done():
			c.closeConn(conn, websocket.StatusNormalClosure, "data plane shutting down")
			return true, ctx.Err()
		case <-ping.C:
			if err := c.ping(ctx, conn); err != nil {
				return true, err
			}
		case <-silence.C:
			c.closeConn(conn, protocol.ClosePolicyViolation, "control plane silent")
			return true, fmt.Errorf("did not receive a message from control plane within %s", c.opts.PingTimeout)
		case f := <-in:
			if f.err != nil {
				if errors.Is(f.err, errBadMessage) {
					c.closeConn(conn, protocol.ClosePolicyViolation, "bad message")
				}
				return true, f.err
			}
			silence.Reset(c.opts.PingTimeout)
			if err := c.handle(ctx, conn, f); err != nil {
				return true, err
			}
			// An apply may take a while; that was this side being busy.
			silence.Reset(c.opts.PingTimeout)
		}
	}
}

// dial opens the websocket to addr with the cluster certificate.
func (c *Client) dial(ctx context.Context, addr string) (*websocket.Conn, func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, func() {}, fmt.Errorf("control plane address %s: %w", addr, err)
	}
	tr := &http.Transport{
		TLSClientConfig:     c.opts.TLS.ClientConfig(host),
		TLSHandshakeTimeout: c.opts.DialTimeout,
		ForceAttemptHTTP2:   false,
	}
	dctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, "wss://"+addr+protocol.Path, &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: tr},
		Subprotocols:    []string{protocol.Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		tr.CloseIdleConnections()
		return nil, func() {}, fmt.Errorf("connect: %w", err)
	}
	if conn.Subprotocol() != protocol.Subprotocol {
		_ = conn.CloseNow()
		tr.CloseIdleConnections()
		return nil, func() {}, fmt.Errorf("connect: control plane does not speak %s", protocol.Subprotocol)
	}
	conn.SetReadLimit(c.opts.MaxPayload)
	return conn, tr.CloseIdleConnections, nil
}

// read feeds frames to the session until the connection fails. Unknown
// message types are skipped, so a newer control plane can add some.
func (c *Client) read(ctx context.Context, conn *websocket.Conn, in chan<- frame) {
	for {
		_, data, err := conn.Read(ctx)
		f := frame{received: time.Now(), err: err}
		if err == nil {
			f.msg, err = c.codec.Decode(data)
			if errors.Is(err, protocol.ErrUnknownType) {
				c.log.Debug(fmt.Sprintf("ignoring a message from control plane: %v", err))
				continue
			}
			if err != nil {
				f.err = fmt.Errorf("%w: %w", errBadMessage, err)
				c.state.SyncFailed(f.received, f.err.Error())
			}
		} else {
			f.err = c.readError(err)
		}
		select {
		case in <- f:
		case <-ctx.Done():
			return
		}
		if f.err != nil {
			return
		}
	}
}

// readError says why a read failed, in the terms Run acts on.
func (c *Client) readError(err error) error {
	code := websocket.CloseStatus(err)
	if code == -1 {
		return fmt.Errorf("error while receiving frame from control plane: %w", err)
	}
	if code == protocol.CloseGoingAway {
		return errGoingAway
	}
	if ce, ok := errors.AsType[websocket.CloseError](err); ok && ce.Reason != "" {
		return fmt.Errorf("control plane closed the connection (%d): %s", code, ce.Reason)
	}
	return fmt.Errorf("control plane closed the connection (%d)", code)
}

// handle acts on one message from the control plane.
func (c *Client) handle(ctx context.Context, conn *websocket.Conn, f frame) error {
	switch m := f.msg.(type) {
	case *protocol.Snapshot:
		c.log.Debug(fmt.Sprintf("received snapshot from control plane: revision %d", m.Revision))
		return c.reply(ctx, conn, c.applySnapshot(ctx, m, f.received))
	case *protocol.Delta:
		c.log.Debug(fmt.Sprintf("received delta from control plane: revision %d from %d", m.Revision, m.FromRevision))
		return c.reply(ctx, conn, c.applyDelta(ctx, m, f.received))
	case *protocol.ErrorMessage:
		text := fmt.Sprintf("control plane: %s: %s", m.Code, m.Message)
		c.state.SyncFailed(f.received, text)
		c.log.Warn(text, slog.String("code", m.Code))
	case *protocol.Pong:
		if rt := c.holder.Load(); rt.Revision() == m.Revision && rt.ReportedHash() == m.ConfigHash {
			c.state.Synced(f.received)
		}
	case *protocol.Hello, *protocol.Ack, *protocol.Nack, *protocol.SnapshotRequest, *protocol.Ping:
		c.log.Debug("ignoring a " + string(m.Type()) + " from control plane")
	}
	return nil
}

// reply sends the answer to a configuration message, then a Ping after an
// Ack so the control plane learns the new state at once.
func (c *Client) reply(ctx context.Context, conn *websocket.Conn, msg protocol.Message) error {
	if err := c.write(ctx, conn, msg); err != nil {
		return fmt.Errorf("send %s: %w", msg.Type(), err)
	}
	if _, ok := msg.(*protocol.Ack); ok {
		return c.ping(ctx, conn)
	}
	return nil
}

func (c *Client) ping(ctx context.Context, conn *websocket.Conn) error {
	rt := c.holder.Load()
	if err := c.write(ctx, conn, &protocol.Ping{Revision: rt.Revision(), ConfigHash: rt.ReportedHash()}); err != nil {
		return fmt.Errorf("send ping: %w", err)
	}
	return nil
}

func (c *Client) write(ctx context.Context, conn *websocket.Conn, msg protocol.Message) error {
	data, err := c.codec.Encode(msg)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, protocol.DefaultWriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageBinary, data)
}

// closeConn closes with a code, without waiting long for the peer.
func (c *Client) closeConn(conn *websocket.Conn, code websocket.StatusCode, reason string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = conn.Close(code, reason)
	}()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		_ = conn.CloseNow()
		<-done
	}
}
