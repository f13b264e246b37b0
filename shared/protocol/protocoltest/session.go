package protocoltest

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/protocol"
)

// session is one connected data plane. Its loop goroutine owns the
// connection's writes and the session state; other goroutines reach it
// through cmds.
type session struct {
	hub  *Hub
	id   int
	conn *websocket.Conn
	cert *x509.Certificate

	wake chan struct{}              // size 1: configuration may be due
	cmds chan func(context.Context) // unbuffered: run on the loop goroutine
	in   chan inbound               // unbuffered: frames read
	done chan struct{}              // closed when the loop ends

	hello *protocol.Hello
	// ackedRev and ackedHash are what the data plane holds, as far as the
	// hub knows: from its Hello, then from each Ack.
	ackedRev  int64
	ackedHash string
	inflight  bool  // a configuration message awaits its Ack or Nack
	sentRev   int64 // the revision of the message in flight
	nackedAt  int64 // the revision last refused, -1 for none
	wantSnap  bool  // the data plane asked for a snapshot
	withheld  int64 // the revision for which configuration was last withheld, -1 for none
}

// inbound is one frame read from the connection.
type inbound struct {
	msg protocol.Message
	err error
}

func (h *Hub) serveSession(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:    []string{protocol.Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	defer func() { _ = conn.CloseNow() }()
	if conn.Subprotocol() != protocol.Subprotocol {
		_ = conn.Close(protocol.ClosePolicyViolation, "subprotocol "+protocol.Subprotocol+" required")
		return
	}
	limit := h.opts.Codec.MaxSize
	if limit <= 0 {
		limit = protocol.DefaultMaxSize
	}
	conn.SetReadLimit(limit)

	h.mu.Lock()
	h.nextID++
	s := &session{
		hub: h, id: h.nextID, conn: conn,
		wake: make(chan struct{}, 1), cmds: make(chan func(context.Context)), in: make(chan inbound),
		done: make(chan struct{}), nackedAt: -1, withheld: -1,
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		s.cert = r.TLS.PeerCertificates[0]
	}
	h.sessions[s] = struct{}{}
	h.mu.Unlock()
	h.notify()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, s)
		h.mu.Unlock()
		h.notify()
	}()
	s.run(r.Context())
}

// run reads and answers until the connection ends or ctx is done.
func (s *session) run(ctx context.Context) {
	defer close(s.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.read(ctx)

	timeout := s.hub.opts.PingTimeout
	if timeout <= 0 {
		timeout = protocol.DefaultPingTimeout
	}
	silence := time.NewTimer(timeout)
	defer silence.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-s.in:
			if in.err != nil {
				return
			}
			silence.Reset(timeout)
			if !s.handle(ctx, in.msg) {
				return
			}
		case <-s.wake:
			s.maybeSend(ctx)
		case fn := <-s.cmds:
			fn(ctx)
		case <-silence.C:
			s.close(protocol.ClosePolicyViolation, fmt.Sprintf("no message within %s", timeout))
			return
		}
	}
}

// read feeds frames to the loop; it records frames that do not decode and
// ends the session on them, as sync-hub does.
func (s *session) read(ctx context.Context) {
	for {
		_, data, err := s.conn.Read(ctx)
		var msg protocol.Message
		if err == nil {
			msg, err = s.hub.opts.Codec.Decode(data)
			if err != nil {
				s.hub.record(Event{Session: s.id, Err: err, Raw: data})
				msg = nil
				s.sendError(ctx, protocol.CodeBadMessage, err.Error())
				_ = s.conn.Close(protocol.ClosePolicyViolation, "bad message")
			}
		}
		select {
		case s.in <- inbound{msg: msg, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// do runs fn on the session's loop, unless the session has ended.
func (s *session) do(fn func(context.Context)) {
	select {
	case s.cmds <- fn:
	case <-s.done:
	}
}

func (s *session) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// handle acts on one message; false ends the session.
func (s *session) handle(ctx context.Context, msg protocol.Message) bool {
	s.hub.record(Event{Session: s.id, Msg: msg})
	if s.hello == nil {
		hello, ok := msg.(*protocol.Hello)
		if !ok {
			s.close(protocol.ClosePolicyViolation, "hello expected")
			return false
		}
		return s.handleHello(ctx, hello)
	}
	switch m := msg.(type) {
	case *protocol.Ack:
		s.inflight = false
		s.ackedRev, s.ackedHash = m.Revision, m.ConfigHash
		s.nackedAt = -1
		s.maybeSend(ctx)
	case *protocol.Nack:
		s.inflight = false
		s.nackedAt = s.sentRev
		s.maybeSend(ctx)
	case *protocol.SnapshotRequest:
		s.inflight = false
		s.wantSnap = true
		s.maybeSend(ctx)
	case *protocol.Ping:
		if !s.hub.isSilent() {
			rev, hash := s.hub.head()
			s.write(ctx, &protocol.Pong{Revision: rev, ConfigHash: hash})
		}
	case *protocol.Hello:
		s.close(protocol.ClosePolicyViolation, "hello sent twice")
		return false
	case *protocol.Snapshot, *protocol.Delta, *protocol.ErrorMessage, *protocol.Pong:
		s.close(protocol.ClosePolicyViolation, "unexpected "+string(msg.Type()))
		return false
	}
	return true
}

func (s *session) handleHello(ctx context.Context, hello *protocol.Hello) bool {
	s.hello = hello
	check := protocol.CheckVersion(s.hub.version, hello.Version)
	if !check.Compatible() {
		s.sendError(ctx, string(check.Status), check.Message)
		s.close(protocol.ClosePolicyViolation, "incompatible version")
		return false
	}
	s.ackedRev, s.ackedHash = hello.Revision, hello.ConfigHash
	rev, hash := s.hub.head()
	if s.ackedRev == rev && s.ackedHash == hash && !s.hub.isSilent() {
		s.write(ctx, &protocol.Pong{Revision: rev, ConfigHash: hash})
		return true
	}
	s.maybeSend(ctx)
	return true
}

// maybeSend sends the configuration message the data plane lacks, if the
// session flow allows one now.
func (s *session) maybeSend(ctx context.Context) {
	h := s.hub
	if h.opts.Manual || s.inflight || s.hello == nil || h.isSilent() {
		return
	}
	h.mu.Lock()
	rev := h.current
	cur := h.history[rev]
	h.mu.Unlock()
	if !s.wantSnap {
		if s.nackedAt >= rev {
			return
		}
		if s.ackedRev == rev && s.ackedHash == cur.set.Hash() {
			return
		}
	}
	if status, text := protocol.CheckConfiguredPlugins(h.plugins, s.hello.Plugins, configuredPlugins(cur)); status != protocol.SyncStatusNormal {
		if s.withheld != rev {
			s.withheld = rev
			s.write(ctx, &protocol.ErrorMessage{Code: string(status), Message: text})
		}
		return
	}
	var msg protocol.Message
	if delta := s.hub.delta(s.ackedRev, s.ackedHash, rev); delta != nil && !s.wantSnap {
		msg = delta
	} else {
		msg = &protocol.Snapshot{
			Revision: rev, ConfigHash: cur.set.Hash(), Digest: cur.set.Hash(),
			Entities: cur.set.Entities(), Trace: cur.trace, Timestamp: time.Now().UnixMilli(),
		}
	}
	if fn := h.tamperFunc(); fn != nil {
		msg = fn(msg)
	}
	s.wantSnap = false
	s.inflight = true
	s.sentRev = rev
	s.write(ctx, msg)
}

// configuredPlugins lists the plugin names the configuration uses.
func configuredPlugins(r *revision) []string {
	return slices.Collect(maps.Keys(r.plugins))
}

// delta returns the coalesced Delta from revision from (where the data
// plane holds hash) to to, or nil when the history does not cover it.
func (h *Hub) delta(from int64, hash string, to int64) *protocol.Delta {
	h.mu.Lock()
	defer h.mu.Unlock()
	if from <= 0 || from < h.histStart || from >= to {
		return nil
	}
	if r, ok := h.history[from]; !ok || r.set.Hash() != hash {
		return nil
	}
	byKey := map[[2]string]protocol.Change{}
	for rev := from + 1; rev <= to; rev++ {
		for _, c := range h.history[rev].changes {
			byKey[[2]string{c.Type, c.ID}] = c
		}
	}
	changes := make([]protocol.Change, 0, len(byKey))
	for _, c := range byKey {
		changes = append(changes, c)
	}
	sort.Slice(changes, func(i, j int) bool {
		if changes[i].Type != changes[j].Type {
			return changes[i].Type < changes[j].Type
		}
		return changes[i].ID < changes[j].ID
	})
	cur := h.history[to]
	return &protocol.Delta{
		FromRevision: from, Revision: to, ConfigHash: cur.set.Hash(), Digest: cur.set.Hash(),
		Changes: changes, Trace: cur.trace, Timestamp: time.Now().UnixMilli(),
	}
}

func (s *session) write(ctx context.Context, msg protocol.Message) {
	var frame []byte
	var err error
	if snap, ok := msg.(*protocol.Snapshot); ok {
		frame, err = s.hub.opts.Codec.EncodeSnapshot(snap)
	} else {
		frame, err = s.hub.opts.Codec.Encode(msg)
	}
	if err != nil {
		// A tampered message may not encode: record it, send nothing.
		s.hub.record(Event{Session: s.id, Sent: msg, Err: err})
		return
	}
	s.hub.record(Event{Session: s.id, Sent: msg})
	s.writeRaw(ctx, frame)
}

func (s *session) writeRaw(ctx context.Context, frame []byte) {
	ctx, cancel := context.WithTimeout(ctx, protocol.DefaultWriteTimeout)
	defer cancel()
	_ = s.conn.Write(ctx, websocket.MessageBinary, frame)
}

func (s *session) sendError(ctx context.Context, code, text string) {
	msg := &protocol.ErrorMessage{Code: code, Message: truncate(text)}
	frame, err := s.hub.opts.Codec.Encode(msg)
	if err != nil {
		return
	}
	s.hub.record(Event{Session: s.id, Sent: msg})
	wctx, cancel := context.WithTimeout(ctx, protocol.DefaultWriteTimeout)
	defer cancel()
	_ = s.conn.Write(wctx, websocket.MessageBinary, frame)
}

func (s *session) close(code int, reason string) {
	err := s.conn.Close(websocket.StatusCode(code), reason)
	if err != nil && !errors.Is(err, context.Canceled) {
		_ = s.conn.CloseNow()
	}
}

func truncate(s string) string {
	if len(s) > protocol.MaxTextLen {
		return s[:protocol.MaxTextLen]
	}
	return s
}

// head returns the newest revision and its hash.
func (h *Hub) head() (int64, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.current, h.history[h.current].set.Hash()
}

func (h *Hub) isSilent() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.silent
}

func (h *Hub) tamperFunc() func(protocol.Message) protocol.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tamper
}
