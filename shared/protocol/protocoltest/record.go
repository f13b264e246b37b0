package protocoltest

import (
	"crypto/x509"
	"strconv"
	"testing"
	"time"

	"gatehouse.dev/shared/protocol"
)

// DefaultWait is how long the Wait helpers wait before failing the test.
const DefaultWait = 15 * time.Second

// Event is one thing that happened in a session, in the order the hub saw
// it. Exactly one of Msg (a message received), Sent (a message sent) and
// Raw with Err (a frame received that did not decode) is set; Sent with Err
// is a message the hub could not encode.
type Event struct {
	// Session numbers the hub's sessions from 1 in the order they opened.
	Session int
	// Msg is a message the data plane sent.
	Msg protocol.Message
	// Sent is a message the hub sent (configuration, pongs, errors).
	Sent protocol.Message
	// Raw is a frame that did not decode, and Err why.
	Raw []byte
	Err error
	// At is when the hub recorded the event.
	At time.Time
}

// record appends e to the log and wakes the waiters.
func (h *Hub) record(e Event) {
	e.At = time.Now()
	h.mu.Lock()
	h.log = append(h.log, e)
	h.mu.Unlock()
	h.notify()
}

func (h *Hub) notify() {
	h.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// Events returns a copy of the log.
func (h *Hub) Events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.log...)
}

// Received returns the messages data planes sent of type T, in order.
func Received[T protocol.Message](h *Hub) []T {
	var out []T
	for _, e := range h.Events() {
		if m, ok := e.Msg.(T); ok {
			out = append(out, m)
		}
	}
	return out
}

// SentOf returns the messages the hub sent of type T, in order.
func SentOf[T protocol.Message](h *Hub) []T {
	var out []T
	for _, e := range h.Events() {
		if m, ok := e.Sent.(T); ok && e.Err == nil {
			out = append(out, m)
		}
	}
	return out
}

// Hellos returns the Hellos received, in order.
func (h *Hub) Hellos() []*protocol.Hello { return Received[*protocol.Hello](h) }

// Acks returns the Acks received, in order.
func (h *Hub) Acks() []*protocol.Ack { return Received[*protocol.Ack](h) }

// Nacks returns the Nacks received, in order.
func (h *Hub) Nacks() []*protocol.Nack { return Received[*protocol.Nack](h) }

// Pings returns the Pings received, in order.
func (h *Hub) Pings() []*protocol.Ping { return Received[*protocol.Ping](h) }

// SnapshotRequests returns the SnapshotRequests received, in order.
func (h *Hub) SnapshotRequests() []*protocol.SnapshotRequest {
	return Received[*protocol.SnapshotRequest](h)
}

// BadFrames returns the frames received that did not decode, with why.
func (h *Hub) BadFrames() []Event {
	var out []Event
	for _, e := range h.Events() {
		if e.Raw != nil {
			out = append(out, e)
		}
	}
	return out
}

// PeerCertificates returns the client certificate of each connected data
// plane.
func (h *Hub) PeerCertificates() []*x509.Certificate {
	var out []*x509.Certificate
	h.each(func(s *session) {
		if s.cert != nil {
			out = append(out, s.cert)
		}
	})
	return out
}

// Wait waits until cond holds, checking it after every event and session
// change, and fails the test after DefaultWait, naming what. cond must
// not block.
func (h *Hub) Wait(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	h.WaitFor(tb, DefaultWait, what, cond)
}

// WaitFor is Wait with a timeout.
func (h *Hub) WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	// Some conditions depend on the data plane rather than the hub (its
	// state after an apply), so poll too.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		h.mu.Lock()
		changed := h.changed
		h.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("protocoltest: timed out after %s waiting for %s", timeout, what)
			return
		}
	}
}

// WaitAck waits for an Ack of revision and returns it.
func (h *Hub) WaitAck(tb testing.TB, revision int64) *protocol.Ack {
	tb.Helper()
	var got *protocol.Ack
	h.Wait(tb, "an ack of revision "+itoa(revision), func() bool {
		for _, a := range h.Acks() {
			if a.Revision == revision {
				got = a
				return true
			}
		}
		return false
	})
	return got
}

// WaitNacks waits until n Nacks have been received and returns them all.
func (h *Hub) WaitNacks(tb testing.TB, n int) []*protocol.Nack {
	tb.Helper()
	var got []*protocol.Nack
	h.Wait(tb, itoa(int64(n))+" nacks", func() bool {
		got = h.Nacks()
		return len(got) >= n
	})
	return got
}

// WaitHellos waits until n Hellos have been received and returns them all.
func (h *Hub) WaitHellos(tb testing.TB, n int) []*protocol.Hello {
	tb.Helper()
	var got []*protocol.Hello
	h.Wait(tb, itoa(int64(n))+" hellos", func() bool {
		got = h.Hellos()
		return len(got) >= n
	})
	return got
}

// WaitSessions waits until exactly n data planes are connected.
func (h *Hub) WaitSessions(tb testing.TB, n int) {
	tb.Helper()
	h.Wait(tb, itoa(int64(n))+" sessions", func() bool { return h.Sessions() == n })
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
