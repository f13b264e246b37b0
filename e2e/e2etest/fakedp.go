package e2etest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/schema"
)

// FakeDataPlane speaks the sync protocol by hand to a real sync-hub, for
// what a real data plane will not do on demand: claim any version or
// plugin set (Kong's compatibility table), or refuse a configuration.
// Kong's own suite uses a fake data plane for the same cases.
type FakeDataPlane struct {
	tb   testing.TB
	conn *websocket.Conn
	// Hello is what it said.
	Hello *protocol.Hello
}

// NewHello returns a hello from a new node claiming version and plugins
// (name → version), holding nothing.
func NewHello(version string, plugins map[string]string) *protocol.Hello {
	h := &protocol.Hello{
		NodeID: schema.NewUUID(), Hostname: "fake-dp", Version: version,
		Revision: 0, ConfigHash: protocol.EmptyHash,
	}
	for name, v := range plugins {
		h.Plugins = append(h.Plugins, protocol.PluginInfo{Name: name, Version: v})
	}
	return h
}

// DialFake connects to the sync-hub at addr with the data-plane
// certificate of certs and sends hello. The connection is closed when the
// test ends.
func DialFake(tb testing.TB, addr string, certs *Certs, hello *protocol.Hello) (*FakeDataPlane, error) {
	tb.Helper()
	cfg := clustertls.Config{Mode: clustertls.Mode(certs.Mode), Cert: certs.DPCert, Key: certs.DPKey, CA: certs.CA}
	if certs.Mode == "pki" {
		cfg.ServerName = PKIServerName
	}
	m, err := clustertls.Load(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr := &http.Transport{TLSClientConfig: m.ClientConfig("127.0.0.1")}
	tb.Cleanup(tr.CloseIdleConnections)
	conn, resp, err := websocket.Dial(ctx, "wss://"+addr+protocol.Path, &websocket.DialOptions{
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
	tb.Cleanup(func() { _ = conn.CloseNow() })
	f := &FakeDataPlane{tb: tb, conn: conn, Hello: hello}
	if err := f.Send(hello); err != nil {
		return nil, err
	}
	return f, nil
}

// Send writes one message.
func (f *FakeDataPlane) Send(msg protocol.Message) error {
	frame, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f.conn.Write(ctx, websocket.MessageBinary, frame)
}

// Recv reads the next message, waiting up to timeout (scaled). A closed
// connection returns an error that websocket.CloseStatus reads.
func (f *FakeDataPlane) Recv(timeout time.Duration) (protocol.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Scaled(timeout))
	defer cancel()
	_, data, err := f.conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	return protocol.Decode(data, 0)
}

// RecvConfig reads messages until a snapshot or a delta arrives, and
// returns it; an error message or a closed connection is an error.
func (f *FakeDataPlane) RecvConfig(timeout time.Duration) (protocol.Message, error) {
	deadline := time.Now().Add(Scaled(timeout))
	for {
		msg, err := f.Recv(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		switch m := msg.(type) {
		case *protocol.Snapshot, *protocol.Delta:
			return m, nil
		case *protocol.ErrorMessage:
			return nil, errors.New(m.Code + ": " + m.Message)
		}
	}
}

// Close closes the connection normally.
func (f *FakeDataPlane) Close() { _ = f.conn.Close(websocket.StatusNormalClosure, "") }
