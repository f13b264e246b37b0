package protocoltest_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/protocol/protocoltest"
	"gatehouse.dev/shared/version"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	nodeID    = "5a2b0a4c-3d1e-4f6a-9b8c-7d6e5f4a3b2c"
	serviceID = "0b6a2d57-55a5-4b0f-8b8e-1c9f3e7d2a10"
	routeID   = "3f1c8e2a-9d4b-4c7e-a6f5-2b8d0e9c1a37"
	pluginID  = "9d1c8e2a-9d4b-4c7e-a6f5-2b8d0e9c1a38"
)

func service(name string) map[string]any {
	return map[string]any{"id": serviceID, "name": name, "host": "example.com"}
}

// client is a bare data plane speaking the protocol by hand.
type client struct {
	t    *testing.T
	conn *websocket.Conn
}

func dial(t *testing.T, h *protocoltest.Hub, m *clustertls.Material) (*client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tr := &http.Transport{TLSClientConfig: m.ClientConfig("127.0.0.1")}
	t.Cleanup(tr.CloseIdleConnections)
	conn, resp, err := websocket.Dial(ctx, "wss://"+h.Addr()+protocol.Path, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: tr},
		Subprotocols: []string{protocol.Subprotocol},
	})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(protocol.DefaultMaxSize)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &client{t: t, conn: conn}, nil
}

func mustDial(t *testing.T, h *protocoltest.Hub) *client {
	t.Helper()
	c, err := dial(t, h, h.Material())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func (c *client) send(msg protocol.Message) {
	c.t.Helper()
	frame, err := protocol.Encode(msg)
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	if err := c.conn.Write(c.t.Context(), websocket.MessageBinary, frame); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) recv() (protocol.Message, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	return protocol.Decode(data, 0)
}

func (c *client) mustRecv() protocol.Message {
	c.t.Helper()
	m, err := c.recv()
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return m
}

func hello(rev int64, hash string) *protocol.Hello {
	var plugins []protocol.PluginInfo
	for _, name := range []string{"key-auth", "rate-limiting"} {
		plugins = append(plugins, protocol.PluginInfo{Name: name, Version: version.Version})
	}
	return &protocol.Hello{
		NodeID: nodeID, Hostname: "dp", Version: version.Version,
		Plugins: plugins, Revision: rev, ConfigHash: hash,
	}
}

func TestSnapshotThenDelta(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{})
	rev1 := h.Replace(t, protocol.Entities{"services": {service("a")}})
	c := mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))

	snap, ok := c.mustRecv().(*protocol.Snapshot)
	if !ok || snap.Revision != rev1 || snap.Digest != h.Hash() || len(snap.Entities["services"]) != 1 {
		t.Fatalf("first message = %#v, want a snapshot of revision %d", snap, rev1)
	}
	c.send(&protocol.Ack{Revision: rev1, ConfigHash: snap.ConfigHash, Digest: snap.Digest})
	h.WaitAck(t, rev1)

	trace := map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	h.Publish(t, protocol.Change{Op: protocol.OpUpsert, Type: "routes", ID: routeID, Entity: map[string]any{"id": routeID}})
	rev3 := h.PublishTraced(t, trace, protocol.Change{Op: protocol.OpUpsert, Type: "services", ID: serviceID, Entity: service("b")})
	// The hub may send revision 2 alone, then 3; or 2 and 3 coalesced.
	var delta *protocol.Delta
	for delta == nil || delta.Revision != rev3 {
		d, ok := c.mustRecv().(*protocol.Delta)
		if !ok {
			t.Fatalf("want a delta")
		}
		if d.FromRevision != rev1 && (delta == nil || d.FromRevision != delta.Revision) {
			t.Fatalf("delta from %d, want from the acked revision", d.FromRevision)
		}
		delta = d
		c.send(&protocol.Ack{Revision: d.Revision, ConfigHash: d.ConfigHash, Digest: d.Digest})
	}
	if delta.Digest != h.Hash() || delta.Trace["traceparent"] != trace["traceparent"] {
		t.Errorf("delta = %+v, want digest %s and the trace", delta, h.Hash())
	}
	h.WaitAck(t, rev3)

	c.send(&protocol.Ping{Revision: rev3, ConfigHash: h.Hash()})
	if pong, ok := c.mustRecv().(*protocol.Pong); !ok || pong.Revision != rev3 {
		t.Errorf("answer to ping = %#v", pong)
	}
	if got := len(h.Pings()); got != 1 {
		t.Errorf("pings recorded = %d, want 1", got)
	}
}

func TestCurrentDataPlaneGetsPong(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{})
	rev := h.Replace(t, protocol.Entities{"services": {service("a")}})
	c := mustDial(t, h)
	c.send(hello(rev, h.Hash()))
	if pong, ok := c.mustRecv().(*protocol.Pong); !ok || pong.Revision != rev || pong.ConfigHash != h.Hash() {
		t.Fatalf("got %#v, want a pong", pong)
	}
}

func TestNackHoldsUntilNewerRevisionOrSnapshotRequest(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{})
	rev1 := h.Replace(t, protocol.Entities{"services": {service("a")}})
	c := mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))
	c.mustRecv()
	c.send(&protocol.Nack{Revision: rev1, Error: "no"})
	h.WaitNacks(t, 1)
	// Nothing more until a newer revision: a ping gets only its pong.
	c.send(&protocol.Ping{Revision: 0, ConfigHash: protocol.EmptyHash})
	if _, ok := c.mustRecv().(*protocol.Pong); !ok {
		t.Fatal("want only a pong after a nack")
	}
	c.send(&protocol.SnapshotRequest{Revision: 0, Reason: "please"})
	if snap, ok := c.mustRecv().(*protocol.Snapshot); !ok || snap.Revision != rev1 {
		t.Fatalf("after a snapshot request got %#v", snap)
	}
	c.send(&protocol.Nack{Revision: rev1, Error: "still no"})
	h.WaitNacks(t, 2)
	rev2 := h.Publish(t, protocol.Change{Op: protocol.OpDelete, Type: "services", ID: serviceID})
	if snap, ok := c.mustRecv().(*protocol.Snapshot); !ok || snap.Revision != rev2 {
		t.Fatalf("after a newer revision got %#v, want a snapshot (nothing acked to delta from)", snap)
	}
}

func TestTamperAndTrimmedHistory(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{})
	rev1 := h.Replace(t, protocol.Entities{"services": {service("a")}})
	c := mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))
	snap := c.mustRecv().(*protocol.Snapshot)
	c.send(&protocol.Ack{Revision: rev1, ConfigHash: snap.ConfigHash, Digest: snap.Digest})
	h.WaitAck(t, rev1)

	h.Tamper(func(m protocol.Message) protocol.Message {
		if d, ok := m.(*protocol.Delta); ok {
			d.Digest = protocol.EmptyHash
		}
		return m
	})
	h.Publish(t, protocol.Change{Op: protocol.OpUpsert, Type: "services", ID: serviceID, Entity: service("b")})
	if d, ok := c.mustRecv().(*protocol.Delta); !ok || d.Digest != protocol.EmptyHash {
		t.Fatalf("got %#v, want the tampered delta", d)
	}
	h.Tamper(nil)
	h.TrimHistory()
	c.send(&protocol.SnapshotRequest{Revision: rev1, Reason: "digest mismatch"})
	if _, ok := c.mustRecv().(*protocol.Snapshot); !ok {
		t.Fatal("want a snapshot")
	}
}

func TestIncompatibleVersionIsClosed(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{Version: "1.0.0"})
	c := mustDial(t, h)
	hl := hello(0, protocol.EmptyHash)
	hl.Version = "2.0.0"
	c.send(hl)
	em, ok := c.mustRecv().(*protocol.ErrorMessage)
	if !ok || em.Code != string(protocol.SyncStatusKongVersionIncompatible) {
		t.Fatalf("got %#v, want kong_version_incompatible", em)
	}
	_, err := c.recv()
	if code := websocket.CloseStatus(err); code != protocol.ClosePolicyViolation {
		t.Errorf("close = %v (%v), want %d", code, err, protocol.ClosePolicyViolation)
	}
}

func TestMissingPluginWithholdsConfiguration(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{})
	h.Replace(t, protocol.Entities{"plugins": {{"id": pluginID, "name": "cors"}}})
	c := mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))
	em, ok := c.mustRecv().(*protocol.ErrorMessage)
	if !ok || em.Code != string(protocol.SyncStatusPluginSetIncompatible) {
		t.Fatalf("got %#v, want plugin_set_incompatible", em)
	}
}

func TestWrongCertificateIsRefused(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{})
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := clustertls.Generate(cert, key, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	other, err := clustertls.Load(clustertls.Config{Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, h, other); err == nil {
		t.Fatal("a data plane with another certificate connected")
	}
}

func TestBadFramesGoAwayKillRestart(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{})
	c := mustDial(t, h)
	if err := c.conn.Write(t.Context(), websocket.MessageBinary, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	h.Wait(t, "a bad frame", func() bool { return len(h.BadFrames()) == 1 })
	if em, ok := c.mustRecv().(*protocol.ErrorMessage); !ok || em.Code != protocol.CodeBadMessage {
		t.Fatalf("got %#v, want bad_message", em)
	}
	if _, err := c.recv(); websocket.CloseStatus(err) != protocol.ClosePolicyViolation {
		t.Fatalf("after a bad frame got %v, want a policy violation close", err)
	}

	c = mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))
	if _, ok := c.mustRecv().(*protocol.Pong); !ok {
		t.Fatal("a current data plane gets a pong")
	}
	h.SendRaw([]byte("garbage"))
	if _, err := c.recv(); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("raw frame decoded as %v, want malformed", err)
	}
	h.GoAway()
	_, err := c.recv()
	if code := websocket.CloseStatus(err); code != protocol.CloseGoingAway {
		t.Fatalf("close = %v, want going away", code)
	}

	addr := h.Addr()
	c = mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))
	c.mustRecv() // the pong
	h.Kill()
	if _, err := c.recv(); err == nil || websocket.CloseStatus(err) != -1 {
		t.Fatalf("after kill got %v, want a dropped connection", err)
	}
	if _, err := dial(t, h, h.Material()); err == nil {
		t.Fatal("dial succeeded while killed")
	}
	h.Restart(t)
	if h.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", h.Addr(), addr)
	}
	c = mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))
	h.WaitHellos(t, 3)
}

func TestSilentDataPlaneIsDropped(t *testing.T) {
	t.Parallel()
	h := protocoltest.New(t, protocoltest.Options{PingTimeout: 200 * time.Millisecond})
	c := mustDial(t, h)
	c.send(hello(0, protocol.EmptyHash))
	for {
		if _, err := c.recv(); err != nil {
			if code := websocket.CloseStatus(err); code != protocol.ClosePolicyViolation {
				t.Fatalf("close = %v, want policy violation", code)
			}
			break
		}
	}
	h.WaitSessions(t, 0)
}
