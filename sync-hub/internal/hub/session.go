package hub

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/compat"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/telemetry"
	"gatehouse.dev/sync-hub/internal/follow"
)

// session is one data plane's connection. Its reader goroutine decodes
// messages and hands them to the writer (the goroutine that runs run) over
// an unbuffered channel; the writer owns every field below "writer-owned"
// and is the only goroutine that writes to the connection.
type session struct {
	h     *Hub
	conn  *websocket.Conn
	ip    string
	cert  *x509.Certificate
	id    string // session id, in the registry row
	seq   uint64 // order of sessions on this hub
	start time.Time

	hello       protocol.Hello
	suffix      string // Kong's " [id: …, host: …, ip: …, version: …]"
	rules       *compat.Rules
	certDetails map[string]any // shared by every row written; never modified

	in    chan event
	view  atomic.Pointer[DataPlane]
	heard atomic.Int64 // when the data plane last sent a message (Unix ns)

	// writer-owned
	acked        int64  // the revision the data plane holds
	ackedHash    string // the hash it reports for it ("" unknown)
	reportedRev  int64  // what it last reported (hello, ack, ping)
	reportedHash string
	status       protocol.SyncStatus
	lastError    string
	inflight     *push
	nacked       int64 // the newest revision it refused, -1 for none
	failed       int64 // a revision whose snapshot could not be encoded, -1 for none
	wantSnapshot bool
	greeted      bool // something was sent after hello
	withheldRev  int64
	withheldMsg  string
	// The last plugin check: its input (the configured plugins) and result.
	checkedPlugins []string
	checkStatus    protocol.SyncStatus
	checkMsg       string
	aheadSince     time.Time
	lastRow        time.Time
}

// push is a configuration message waiting for its answer.
type push struct {
	typ       protocol.Type
	from, to  int64
	committed time.Time
	deadline  time.Time
	span      trace.Span
}

// event is a message from the reader: a decoded message, or the error
// that ended reading.
type event struct {
	msg protocol.Message
	err error
}

// readError is why reading ended.
type readError struct {
	err error
}

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func newSession(h *Hub, conn *websocket.Conn, ip string, cert *x509.Certificate) *session {
	return &session{
		h: h, conn: conn, ip: ip, cert: cert,
		id:     schema.NewUUID(),
		seq:    h.seq.Add(1),
		start:  time.Now(),
		in:     make(chan event),
		status: protocol.SyncStatusUnknown,
		nacked: -1, failed: -1, withheldRev: -1,
		suffix:      " [ip: " + ip + "]",
		certDetails: clustertls.CertDetails(cert),
	}
}

// run handles the session until it ends: when lifeCtx is done (the hub
// shuts down: close with CloseGoingAway), when the data plane goes away, or
// on a protocol violation.
func (s *session) run(lifeCtx context.Context) {
	// Reading stops when the session ends, not when the hub shuts down: the
	// close handshake needs the reader.
	ctx, cancel := context.WithCancel(context.WithoutCancel(lifeCtx))
	defer cancel()
	defer func() { _ = s.conn.CloseNow() }()
	if !s.handshake(lifeCtx, ctx) {
		return
	}
	s.heard.Store(time.Now().UnixNano())
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		s.read(ctx)
	}()
	reason := s.write(lifeCtx, ctx)
	cancel()
	_ = s.conn.CloseNow()
	<-readerDone
	if s.inflight != nil {
		s.inflight.span.SetStatus(codes.Error, "disconnected")
		s.inflight.span.End()
	}
	s.h.registry.disconnected(s.seq, s.hello.NodeID, s.id, "")
	s.log(ctx, slog.LevelInfo, "data plane disconnected: "+reason)
}

// log writes a line about the data plane with Kong's suffix.
func (s *session) log(ctx context.Context, level slog.Level, msg string) {
	s.h.log.Log(ctx, level, msg+s.suffix)
}

// handshake reads and checks hello; it reports whether the session may go
// on. It closes the connection when it refuses.
func (s *session) handshake(lifeCtx, ctx context.Context) bool {
	hctx, cancel := context.WithTimeout(ctx, s.h.opts.HelloTimeout)
	// A hub shutting down does not wait for a hello.
	stop := context.AfterFunc(lifeCtx, func() { _ = s.conn.Close(protocol.CloseGoingAway, "sync-hub is shutting down") })
	_, data, err := s.conn.Read(hctx)
	stop()
	cancel()
	if err != nil {
		if lifeCtx.Err() == nil {
			s.log(ctx, slog.LevelWarn, "failed to receive hello from data plane: "+s.readFailed(ctx, &readError{err: err}))
		}
		return false
	}
	msg, err := s.h.codec.Decode(data)
	if err != nil {
		s.refuseDecode(ctx, err)
		return false
	}
	hello, ok := msg.(*protocol.Hello)
	if !ok {
		s.refuse(ctx, protocol.CodeBadMessage, "expected hello, got "+string(msg.Type()), protocol.ClosePolicyViolation)
		return false
	}
	s.hello = *hello
	s.suffix = dpSuffix(hello, s.ip)
	s.acked, s.ackedHash = hello.Revision, hello.ConfigHash
	s.reportedRev, s.reportedHash = hello.Revision, hello.ConfigHash

	if s.h.opts.TLS.Mode == clustertls.PKI {
		if err := clustertls.CheckNodeID(s.cert, hello.NodeID); err != nil {
			s.log(ctx, slog.LevelError, err.Error())
			s.refuse(ctx, protocol.CodeBadMessage, err.Error(), protocol.ClosePolicyViolation)
			return false
		}
	}
	vc := protocol.CheckVersion(s.h.opts.Version, hello.Version)
	if !vc.Compatible() {
		s.log(ctx, slog.LevelError, vc.Message)
		s.status = vc.Status
		s.reportedHash = protocol.EmptyHash
		s.h.registry.update(s.seq, s.row(false))
		s.h.registry.disconnected(s.seq, hello.NodeID, s.id, "")
		s.refuse(ctx, string(vc.Status), vc.Message, protocol.ClosePolicyViolation)
		return false
	}
	if vc.Info != "" {
		s.log(ctx, slog.LevelInfo, vc.Info)
	}
	for _, l := range protocol.PluginWarnings(s.h.opts.Plugins, hello.Plugins) {
		s.log(ctx, l.Level, l.Message)
	}
	s.rules = s.h.opts.Compat.Rules(hello.Version)
	s.publish()
	s.h.registry.update(s.seq, s.row(true))
	s.lastRow = time.Now()
	s.log(ctx, slog.LevelDebug, "data plane connected")

	select {
	case <-s.h.follower.Ready():
		return true
	case <-lifeCtx.Done():
		_ = s.conn.Close(protocol.CloseGoingAway, "sync-hub is shutting down")
		return false
	}
}

// read decodes messages and hands them to the writer until reading fails,
// a message does not decode, or ctx is done. Reads have no deadline of
// their own (a per-read timer costs more than the message): the writer
// drops a data plane that has been silent for the ping timeout, and the
// end of the session closes the connection, which ends the read.
func (s *session) read(ctx context.Context) {
	rctx := context.WithoutCancel(ctx)
	for {
		_, data, err := s.conn.Read(rctx)
		var ev event
		if err != nil {
			ev.err = &readError{err: err}
		} else {
			s.heard.Store(time.Now().UnixNano())
			ev.msg, ev.err = s.h.codec.Decode(data)
		}
		select {
		case s.in <- ev:
		case <-ctx.Done():
			return
		}
		if ev.err != nil {
			return
		}
	}
}

// write is the writer loop. It returns why the session ended.
func (s *session) write(lifeCtx, ctx context.Context) string {
	ackT, aheadT, silenceT := stoppedTimer(), stoppedTimer(), stoppedTimer()
	defer ackT.Stop()
	defer aheadT.Stop()
	defer silenceT.Stop()
	for {
		st := s.h.follower.Current()
		if reason, ok := s.step(ctx, st); !ok {
			return s.readReason(ctx, reason)
		}
		ackC := arm(ackT, s.inflight != nil, func() time.Duration { return time.Until(s.inflight.deadline) })
		aheadC := arm(aheadT, !s.aheadSince.IsZero(), func() time.Duration {
			return time.Until(s.aheadSince.Add(s.h.opts.AheadGrace))
		})
		silenceC := arm(silenceT, true, func() time.Duration {
			return time.Until(time.Unix(0, s.heard.Load()).Add(s.h.opts.PingTimeout))
		})
		select {
		case <-lifeCtx.Done():
			_ = s.conn.Close(protocol.CloseGoingAway, "sync-hub is shutting down")
			return "sync-hub is shutting down"
		case <-st.Superseded():
		case <-aheadC:
		case <-ackC:
			msg := fmt.Sprintf("data plane did not answer revision %d within %s; closing the connection",
				s.inflight.to, s.h.opts.AckTimeout)
			s.log(ctx, slog.LevelWarn, msg)
			s.lastError = msg
			_ = s.conn.Close(CloseTryAgainLater, "no acknowledgement")
			return "no acknowledgement"
		case <-silenceC:
			if time.Since(time.Unix(0, s.heard.Load())) < s.h.opts.PingTimeout {
				continue
			}
			reason := fmt.Sprintf("data plane sent nothing for %s; closing the connection", s.h.opts.PingTimeout)
			s.log(ctx, slog.LevelWarn, reason)
			_ = s.conn.CloseNow()
			return reason
		case ev := <-s.in:
			if re, ok := errors.AsType[*readError](ev.err); ok {
				return s.readFailed(ctx, re)
			}
			if reason, ok := s.handle(ctx, st, ev); !ok {
				return s.readReason(ctx, reason)
			}
		}
	}
}

// stoppedTimer returns a timer that is not running.
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// arm resets t to fire after d() and returns its channel when on, else
// stops it and returns nil (a nil channel never fires in a select).
func arm(t *time.Timer, on bool, d func() time.Duration) <-chan time.Time {
	if !on {
		t.Stop()
		return nil
	}
	t.Reset(d())
	return t.C
}

// step sends what the data plane needs, if the writer is free. It reports
// false, with a reason, when the session must end.
func (s *session) step(ctx context.Context, st *follow.State) (string, bool) {
	if s.inflight != nil {
		return "", true
	}
	status, msg := s.checkPlugins(st.Plugins)
	if status != protocol.SyncStatusNormal {
		if s.withheldRev == st.Revision && s.withheldMsg == msg {
			return "", true
		}
		s.log(ctx, slog.LevelWarn, protocol.WithheldWarning(msg))
		s.withheldRev, s.withheldMsg = st.Revision, msg
		s.greeted = true
		s.status, s.lastError = status, msg
		s.changed()
		if err := s.send(ctx, &protocol.ErrorMessage{Code: string(status), Message: msg}); err != nil {
			return err.Error(), false
		}
		return "", true
	}
	if s.status != protocol.SyncStatusNormal {
		if s.withheldMsg != "" {
			s.lastError, s.withheldMsg = "", ""
		}
		s.status = protocol.SyncStatusNormal
		s.changed()
	}
	switch s.plan(st) {
	case planWait:
		return "", true
	case planCurrent:
		if !s.greeted {
			s.greeted = true
			if err := s.send(ctx, &protocol.Pong{Revision: st.Revision, ConfigHash: st.Hash}); err != nil {
				return err.Error(), false
			}
		}
		return "", true
	case planDelta:
		bctx, cancel := context.WithTimeout(ctx, s.h.opts.WriteTimeout)
		f, err := s.h.builder.delta(bctx, st, s.acked, s.rules)
		cancel()
		if err == nil {
			return s.push(ctx, st, f)
		}
		s.log(ctx, slog.LevelDebug, "sending a snapshot instead of a delta from revision "+strconv.FormatInt(s.acked, 10)+": "+err.Error())
	case planSnapshot:
	}
	f := s.h.builder.snapshot(st, s.rules)
	if f.err != nil {
		s.failed = st.Revision
		s.lastError = "unable to send the configuration: " + f.err.Error()
		s.log(ctx, slog.LevelError, s.lastError)
		s.changed()
		return "", true
	}
	return s.push(ctx, st, f)
}

// checkPlugins runs CheckConfiguredPlugins, again only when the configured
// plugins changed since the last check (most revisions change no plugin).
func (s *session) checkPlugins(configured []string) (protocol.SyncStatus, string) {
	if s.checkStatus == "" || !slices.Equal(configured, s.checkedPlugins) {
		s.checkStatus, s.checkMsg = protocol.CheckConfiguredPlugins(s.h.opts.Plugins, s.hello.Plugins, configured)
		s.checkedPlugins = configured
	}
	return s.checkStatus, s.checkMsg
}

type plan int

const (
	planWait plan = iota
	planCurrent
	planDelta
	planSnapshot
)

// plan decides what the data plane needs to reach st.
func (s *session) plan(st *follow.State) plan {
	if s.wantSnapshot {
		return planSnapshot
	}
	if s.acked > st.Revision {
		// The data plane claims a revision this hub has not seen: it came
		// from a hub that is ahead. Check the database at once and give it
		// a moment; then the database is the truth.
		if s.aheadSince.IsZero() {
			s.aheadSince = time.Now()
			s.h.follower.Kick()
		}
		if time.Since(s.aheadSince) < s.h.opts.AheadGrace {
			return planWait
		}
		return planSnapshot
	}
	s.aheadSince = time.Time{}
	if s.acked == st.Revision {
		if s.ackedHash == "" || s.ackedHash == st.Hash {
			return planCurrent
		}
		return planSnapshot
	}
	if s.nacked == st.Revision || s.failed == st.Revision {
		return planWait
	}
	if h, ok := st.HashAt(s.acked); ok && h != "" && s.ackedHash != "" && h != s.ackedHash {
		// It holds another configuration at that revision (a database
		// restored, or a configuration not from this cluster).
		return planSnapshot
	}
	return planDelta
}

// push sends a configuration frame and waits for its answer.
func (s *session) push(ctx context.Context, st *follow.State, f *frame) (string, bool) {
	_, span := s.h.opts.Tracer.Start(telemetry.Extract(ctx, st.Trace), "sync-hub push",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("gatehouse.node_id", s.hello.NodeID),
			attribute.String("gatehouse.message", string(f.typ)),
			attribute.Int64("gatehouse.from_revision", s.acked),
			attribute.Int64("gatehouse.revision", st.Revision),
			attribute.Int("messaging.message.body.size", len(f.data)),
		))
	for _, w := range f.warnings {
		s.log(ctx, slog.LevelWarn, w)
	}
	if err := s.writeFrame(ctx, f.typ, f.data); err != nil {
		span.SetStatus(codes.Error, err.Error())
		span.End()
		return err.Error(), false
	}
	s.inflight = &push{
		typ: f.typ, from: s.acked, to: st.Revision, committed: st.Committed,
		deadline: time.Now().Add(s.h.opts.AckTimeout), span: span,
	}
	s.greeted = true
	s.wantSnapshot = false
	return "", true
}

// handle handles one event from the reader.
func (s *session) handle(ctx context.Context, st *follow.State, ev event) (string, bool) {
	if ev.err != nil {
		s.refuseDecode(ctx, ev.err)
		return "refused a message: " + ev.err.Error(), false
	}
	switch m := ev.msg.(type) {
	case *protocol.Ping:
		s.reportedRev, s.reportedHash = m.Revision, m.ConfigHash
		if err := s.send(ctx, &protocol.Pong{Revision: st.Revision, ConfigHash: st.Hash}); err != nil {
			return err.Error(), false
		}
		if time.Since(s.lastRow) >= s.h.opts.PingInterval {
			s.changed()
		}
	case *protocol.Ack:
		s.acked, s.ackedHash = m.Revision, m.ConfigHash
		s.reportedRev, s.reportedHash = m.Revision, m.ConfigHash
		s.nacked, s.lastError = -1, ""
		s.h.metrics.acks.Inc()
		if p := s.inflight; p != nil {
			if !p.committed.IsZero() && m.Revision == p.to {
				s.h.metrics.pushLatency.Observe(time.Since(p.committed).Seconds())
			}
			p.span.End()
			s.inflight = nil
		}
		s.changed()
		if s.h.opts.OnAck != nil {
			s.h.opts.OnAck(s.hello.NodeID, m.Revision)
		}
	case *protocol.Nack:
		s.nacked, s.lastError = m.Revision, m.Error
		s.h.metrics.nacks.Inc()
		s.log(ctx, slog.LevelWarn, fmt.Sprintf("data plane refused revision %d: %s", m.Revision, m.Error))
		if p := s.inflight; p != nil {
			p.span.SetStatus(codes.Error, m.Error)
			p.span.End()
			s.inflight = nil
		}
		s.changed()
	case *protocol.SnapshotRequest:
		if m.Revision != s.acked {
			s.acked, s.ackedHash = m.Revision, ""
		}
		s.wantSnapshot = true
		s.log(ctx, slog.LevelInfo, fmt.Sprintf("data plane asked for a snapshot at revision %d: %s", m.Revision, m.Reason))
		if p := s.inflight; p != nil {
			p.span.SetStatus(codes.Error, "snapshot requested")
			p.span.End()
			s.inflight = nil
		}
	case *protocol.Hello, *protocol.Snapshot, *protocol.Delta, *protocol.ErrorMessage, *protocol.Pong:
		msg := "unexpected " + string(m.Type()) + " message from data plane"
		s.log(ctx, slog.LevelWarn, msg)
		s.refuse(ctx, protocol.CodeBadMessage, msg, protocol.ClosePolicyViolation)
		return msg, false
	}
	return "", true
}

// readReason returns why reading ended when the reader has failed too
// (a write fails when the reader's error closed the connection: the
// reader's reason is the real one), else reason.
func (s *session) readReason(ctx context.Context, reason string) string {
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case ev := <-s.in:
		if re, ok := errors.AsType[*readError](ev.err); ok {
			return s.readFailed(ctx, re)
		}
	case <-t.C:
	}
	return reason
}

// readFailed logs why reading ended and returns it as a reason.
func (s *session) readFailed(ctx context.Context, re *readError) string {
	var reason string
	switch {
	case errors.Is(re.err, websocket.ErrMessageTooBig):
		reason = fmt.Sprintf("data plane sent a message larger than the limit of %d bytes (GATEHOUSE_CLUSTER_MAX_PAYLOAD)", s.h.opts.MaxPayload)
		s.log(ctx, slog.LevelWarn, reason)
	case websocket.CloseStatus(re.err) != -1:
		reason = "closed by the data plane (" + websocket.CloseStatus(re.err).String() + ")"
	default:
		reason = "connection lost: " + re.err.Error()
	}
	return reason
}

// refuseDecode answers a message that did not decode, and closes.
func (s *session) refuseDecode(ctx context.Context, err error) {
	code, closeCode := protocol.CodeBadMessage, websocket.StatusCode(protocol.ClosePolicyViolation)
	switch {
	case errors.Is(err, protocol.ErrUnsupportedProtocol):
		code = protocol.CodeUnsupportedProtocol
	case errors.Is(err, protocol.ErrTooLarge):
		closeCode = protocol.CloseTooBig
	}
	s.log(ctx, slog.LevelWarn, "invalid message from data plane: "+err.Error())
	s.refuse(ctx, code, err.Error(), closeCode)
}

// refuse sends an ErrorMessage (best effort) and closes with closeCode.
func (s *session) refuse(ctx context.Context, code, msg string, closeCode websocket.StatusCode) {
	_ = s.send(ctx, &protocol.ErrorMessage{Code: code, Message: clip(msg, protocol.MaxTextLen)})
	_ = s.conn.Close(closeCode, clip(msg, 120))
}

// send encodes and writes a small message.
func (s *session) send(ctx context.Context, msg protocol.Message) error {
	data, err := s.h.codec.Encode(msg)
	if err != nil {
		return fmt.Errorf("encode %s: %w", msg.Type(), err)
	}
	return s.writeFrame(ctx, msg.Type(), data)
}

// writeFrame writes one message within the write timeout.
func (s *session) writeFrame(ctx context.Context, typ protocol.Type, data []byte) error {
	wctx, cancel := context.WithTimeout(ctx, s.h.opts.WriteTimeout)
	defer cancel()
	if err := s.conn.Write(wctx, websocket.MessageBinary, data); err != nil {
		return fmt.Errorf("write %s: %w", typ, err)
	}
	s.h.metrics.sent(typ, len(data))
	return nil
}

// changed publishes the session's state and posts its registry row.
func (s *session) changed() {
	s.publish()
	s.h.registry.update(s.seq, s.row(true))
	s.lastRow = time.Now()
}

// publish makes the session's state visible to DataPlanes.
func (s *session) publish() {
	s.view.Store(&DataPlane{
		NodeID: s.hello.NodeID, Hostname: s.hello.Hostname, IP: s.ip, Version: s.hello.Version,
		SyncStatus: s.status, Revision: s.acked, ConfigHash: s.reportedHash, LastError: s.lastError,
		SessionID: s.id, Connected: s.start,
	})
}

func (s *session) row(connected bool) store.DataPlane {
	return store.DataPlane{
		ID:          s.hello.NodeID,
		Hostname:    s.hello.Hostname,
		IP:          s.ip,
		Version:     s.hello.Version,
		SyncStatus:  string(s.status),
		ConfigHash:  s.reportedHash,
		Revision:    s.reportedRev,
		Labels:      s.hello.Labels,
		CertDetails: s.certDetails,
		Connected:   connected,
		HubID:       s.h.opts.HubID,
		SessionID:   s.id,
		LastError:   s.lastError,
	}
}

// dpSuffix is Kong's suffix of every log line about a data plane.
func dpSuffix(h *protocol.Hello, ip string) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+": "+v)
		}
	}
	add("id", h.NodeID)
	add("host", h.Hostname)
	add("ip", ip)
	add("version", h.Version)
	return " [" + strings.Join(parts, ", ") + "]"
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
