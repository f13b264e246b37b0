package hubtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/schema"
)

// Dial opens a websocket to a hub at addr (host:port) with the given TLS
// client configuration, offering the sync subprotocol unless noSubprotocol.
// It returns the HTTP status of the answer (0 when there was none).
func Dial(ctx context.Context, addr string, cfg *tls.Config, noSubprotocol bool) (*websocket.Conn, int, error) {
	opts := &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: false}},
	}
	if !noSubprotocol {
		opts.Subprotocols = []string{protocol.Subprotocol}
	}
	conn, resp, err := websocket.Dial(ctx, "wss://"+addr+protocol.Path, opts)
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		return nil, status, err
	}
	conn.SetReadLimit(256 << 20)
	return conn, status, nil
}

// NewHello returns a Hello from a fresh node holding no configuration.
func NewHello(version string, plugins ...protocol.PluginInfo) protocol.Hello {
	if plugins == nil {
		plugins = []protocol.PluginInfo{}
	}
	return protocol.Hello{
		NodeID:     schema.NewUUID(),
		Hostname:   "dp-test",
		Version:    version,
		Plugins:    plugins,
		ConfigHash: protocol.EmptyHash,
	}
}

// DP is a data plane for tests. It holds the configuration it applied and
// checks every digest, as a real data plane does. Its methods are not safe
// for concurrent use.
type DP struct {
	Conn  *websocket.Conn
	Hello protocol.Hello
	// Set is what it holds; ConfigHash what it reports.
	Set        *configset.Set
	ConfigHash string
	// Received counts the configuration messages by type.
	Received map[protocol.Type]int
	// LastDigest is the digest of the last configuration applied.
	LastDigest string
}

// Connect dials the hub and sends hello. Set and ConfigHash start from
// hello's revision and hash with an empty set.
func Connect(ctx context.Context, addr string, cfg *tls.Config, hello protocol.Hello) (*DP, error) {
	conn, _, err := Dial(ctx, addr, cfg, false)
	if err != nil {
		return nil, err
	}
	d := &DP{Conn: conn, Hello: hello, Set: configset.New(), ConfigHash: hello.ConfigHash, Received: map[protocol.Type]int{}}
	d.Set.Revision = hello.Revision
	if err := d.Send(ctx, &hello); err != nil {
		_ = conn.CloseNow()
		return nil, err
	}
	return d, nil
}

// Send writes one message.
func (d *DP) Send(ctx context.Context, msg protocol.Message) error {
	frame, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	return d.Conn.Write(ctx, websocket.MessageBinary, frame)
}

// Recv reads and decodes one message.
func (d *DP) Recv(ctx context.Context) (protocol.Message, error) {
	_, data, err := d.Conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	return protocol.Decode(data, 256<<20)
}

// Ping sends a Ping with what the DP holds.
func (d *DP) Ping(ctx context.Context) error {
	return d.Send(ctx, &protocol.Ping{Revision: d.Set.Revision, ConfigHash: d.ConfigHash})
}

// Apply applies a Snapshot or a Delta and returns the reply a data plane
// sends: an Ack, a SnapshotRequest after a delta whose digest does not
// match (or that does not start at its revision), or a Nack after a
// snapshot whose digest does not match.
func (d *DP) Apply(msg protocol.Message) (protocol.Message, error) {
	switch m := msg.(type) {
	case *protocol.Snapshot:
		d.Received[m.Type()]++
		set, err := configset.FromEntities(m.Revision, m.Entities)
		if err != nil {
			return protocol.NewNack(m.Revision, err.Error(), nil), nil
		}
		if set.Hash() != m.Digest {
			return protocol.NewNack(m.Revision, "digest mismatch after snapshot", nil), nil
		}
		d.Set, d.ConfigHash, d.LastDigest = set, m.ConfigHash, m.Digest
		return &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}, nil
	case *protocol.Delta:
		d.Received[m.Type()]++
		if m.FromRevision != d.Set.Revision {
			return &protocol.SnapshotRequest{
				Revision: d.Set.Revision,
				Reason:   fmt.Sprintf("delta from %d, holding %d", m.FromRevision, d.Set.Revision),
			}, nil
		}
		set := d.Set.Clone()
		if err := set.Apply(m.Changes); err != nil {
			return protocol.NewNack(m.Revision, err.Error(), nil), nil
		}
		if set.Hash() != m.Digest {
			return &protocol.SnapshotRequest{Revision: d.Set.Revision, Reason: "digest mismatch after delta"}, nil
		}
		set.Revision = m.Revision
		d.Set, d.ConfigHash, d.LastDigest = set, m.ConfigHash, m.Digest
		return &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}, nil
	}
	return nil, fmt.Errorf("%s is not a configuration message", msg.Type())
}

// Next reads messages until a configuration message arrives, applies it,
// sends the reply and returns the message. Pongs and error messages on the
// way are skipped.
func (d *DP) Next(ctx context.Context) (protocol.Message, error) {
	for {
		msg, err := d.Recv(ctx)
		if err != nil {
			return nil, err
		}
		switch msg.(type) {
		case *protocol.Snapshot, *protocol.Delta:
		default:
			continue
		}
		reply, err := d.Apply(msg)
		if err != nil {
			return nil, err
		}
		if err := d.Send(ctx, reply); err != nil {
			return nil, err
		}
		return msg, nil
	}
}

// WaitRevision applies configuration messages until the DP holds revision
// rev or later, or ctx ends.
func (d *DP) WaitRevision(ctx context.Context, rev int64) error {
	for d.Set.Revision < rev {
		if _, err := d.Next(ctx); err != nil {
			return fmt.Errorf("waiting for revision %d (holding %d): %w", rev, d.Set.Revision, err)
		}
	}
	return nil
}

// Close closes the connection normally.
func (d *DP) Close() { _ = d.Conn.Close(websocket.StatusNormalClosure, "") }

// CloseStatus returns the close code of a read error (-1 when it is not a
// close).
func CloseStatus(err error) websocket.StatusCode { return websocket.CloseStatus(err) }

// WaitClosed reads until the connection closes and returns the close
// error; it fails after timeout.
func (d *DP) WaitClosed(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if _, _, err := d.Conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				return errors.New("connection still open")
			}
			return err
		}
	}
}

// Reconnect dials again as the same node, saying hello with the revision
// and hash prev holds, and keeps prev's configuration.
func Reconnect(ctx context.Context, addr string, cfg *tls.Config, prev *DP) (*DP, error) {
	hello := prev.Hello
	hello.Revision, hello.ConfigHash = prev.Set.Revision, prev.ConfigHash
	d, err := Connect(ctx, addr, cfg, hello)
	if err != nil {
		return nil, err
	}
	d.Set, d.LastDigest = prev.Set, prev.LastDigest
	return d, nil
}
