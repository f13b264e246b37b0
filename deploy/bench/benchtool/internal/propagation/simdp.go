package propagation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/version"
)

// fleet is a set of simulated data planes in this process, as sync-hub's
// BenchmarkFleet has them: real mutual-TLS websockets that say hello with
// what they hold and acknowledge whatever configuration arrives without
// applying it. Frames are shared bytes (sync-hub encodes each once), so
// the fleet decodes each distinct frame once, not once per data plane:
// two CPUs decoding a 30k-entity snapshot a hundred times would measure
// the simulator, not the hub.
type fleet struct {
	conns  []*websocket.Conn
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	acks    map[int64][]time.Time // revision → when each data plane acked it
	bytes   map[int64]int64       // revision → frame bytes received, all data planes
	decoded map[[32]byte]*decodedFrame
	greeted int // data planes that got their first message (a pong after hello)
	changed chan struct{}
	err     error
}

type decodedFrame struct {
	once sync.Once
	ack  *protocol.Ack
	err  error
}

// startFleet connects n simulated data planes holding revision rev with
// hash.
func startFleet(ctx context.Context, cp *controlPlane, n int, rev int64, hash string) (*fleet, error) {
	m, err := clustertls.Load(clustertls.Config{Cert: cp.cert, Key: cp.key})
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	set, err := plugin.Load(plugin.SpecBundled)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	var plugins []protocol.PluginInfo
	for _, p := range set.List() {
		plugins = append(plugins, protocol.PluginInfo{Name: p.Name, Version: p.Version})
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &fleet{
		cancel: cancel, acks: map[int64][]time.Time{}, bytes: map[int64]int64{},
		decoded: map[[32]byte]*decodedFrame{}, changed: make(chan struct{}, 1),
	}
	transport := &http.Transport{TLSClientConfig: m.ClientConfig("127.0.0.1"), MaxIdleConnsPerHost: n}
	for i := range n {
		dialCtx, dialCancel := context.WithTimeout(ctx, 30*time.Second)
		conn, resp, err := websocket.Dial(dialCtx, "wss://"+cp.hubAddr+protocol.Path, &websocket.DialOptions{
			HTTPClient: &http.Client{Transport: transport}, Subprotocols: []string{protocol.Subprotocol},
		})
		dialCancel()
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			f.stop()
			return nil, fmt.Errorf("fleet: data plane %d: %w", i, err)
		}
		conn.SetReadLimit(256 << 20)
		f.conns = append(f.conns, conn)
		hello := &protocol.Hello{
			NodeID: schema.NewUUID(), Hostname: fmt.Sprintf("sim-%d", i), Version: version.Version,
			Plugins: plugins, Revision: rev, ConfigHash: hash,
		}
		if err := send(runCtx, conn, hello); err != nil {
			f.stop()
			return nil, fmt.Errorf("fleet: hello %d: %w", i, err)
		}
		f.wg.Go(func() { f.serve(runCtx, conn, rev, hash) })
	}
	return f, nil
}

func send(ctx context.Context, conn *websocket.Conn, msg protocol.Message) error {
	frame, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return conn.Write(wctx, websocket.MessageBinary, frame)
}

// serve is one simulated data plane: it acknowledges configurations and
// pings every 10 s, as a data plane must to stay connected.
func (f *fleet) serve(ctx context.Context, conn *websocket.Conn, rev int64, hash string) {
	var mu sync.Mutex // the revision and hash it reports in pings
	pingDone := make(chan struct{})
	defer close(pingDone)
	go func() {
		ticker := time.NewTicker(10 * time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-pingDone:
				return
			case <-ticker.C:
			}
			mu.Lock()
			ping := &protocol.Ping{Revision: rev, ConfigHash: hash}
			mu.Unlock()
			_ = send(ctx, conn, ping)
		}
	}()
	first := true
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.fail(fmt.Errorf("fleet: read: %w", err))
			}
			return
		}
		if first {
			first = false
			f.mu.Lock()
			f.greeted++
			f.mu.Unlock()
			f.signal()
		}
		ack, err := f.decode(data)
		if err != nil {
			f.fail(err)
			return
		}
		if ack == nil {
			continue
		}
		if err := send(ctx, conn, ack); err != nil {
			if ctx.Err() == nil {
				f.fail(fmt.Errorf("fleet: ack: %w", err))
			}
			return
		}
		at := time.Now()
		mu.Lock()
		rev, hash = ack.Revision, ack.ConfigHash
		mu.Unlock()
		f.mu.Lock()
		f.acks[ack.Revision] = append(f.acks[ack.Revision], at)
		f.bytes[ack.Revision] += int64(len(data))
		f.mu.Unlock()
		f.signal()
	}
}

// signal wakes a waiter.
func (f *fleet) signal() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// waitGreeted waits until every data plane got a first message: sync-hub
// has processed every hello.
func (f *fleet) waitGreeted(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		f.mu.Lock()
		done, err := f.greeted == len(f.conns), f.err
		f.mu.Unlock()
		switch {
		case err != nil:
			return err
		case done:
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("fleet: %d of %d data planes heard from sync-hub", f.greeted, len(f.conns))
		case <-f.changed:
		}
	}
}

// decode returns the Ack for a frame holding a configuration (nil for
// other messages), decoding each distinct frame once.
func (f *fleet) decode(data []byte) (*protocol.Ack, error) {
	key := sha256.Sum256(data)
	f.mu.Lock()
	d := f.decoded[key]
	if d == nil {
		d = &decodedFrame{}
		f.decoded[key] = d
	}
	f.mu.Unlock()
	d.once.Do(func() {
		msg, err := protocol.Codec{MaxSize: 256 << 20}.Decode(data)
		if err != nil {
			d.err = fmt.Errorf("fleet: decode: %w", err)
			return
		}
		switch m := msg.(type) {
		case *protocol.Snapshot:
			d.ack = &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}
		case *protocol.Delta:
			d.ack = &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}
		case *protocol.ErrorMessage:
			d.err = fmt.Errorf("fleet: sync-hub says %s: %s", m.Code, m.Message)
		}
	})
	return d.ack, d.err
}

func (f *fleet) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
	f.signal()
}

// latest is the newest revision acknowledged by every data plane.
func (f *fleet) latest() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var newest int64
	for rev, at := range f.acks {
		if len(at) == len(f.conns) && rev > newest {
			newest = rev
		}
	}
	return newest
}

// waitAll waits until every data plane acknowledged a revision above
// after, and returns when each did and the frame bytes each received.
func (f *fleet) waitAll(ctx context.Context, after int64, timeout time.Duration) ([]time.Time, float64, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		f.mu.Lock()
		if f.err != nil {
			err := f.err
			f.mu.Unlock()
			return nil, 0, err
		}
		for rev, at := range f.acks {
			if rev > after && len(at) == len(f.conns) {
				out := append([]time.Time(nil), at...)
				perDP := float64(f.bytes[rev]) / float64(len(f.conns))
				f.mu.Unlock()
				return out, perDP, nil
			}
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-timer.C:
			return nil, 0, errors.New("fleet: not every data plane acknowledged within the timeout")
		case <-f.changed:
		}
	}
}

// stop closes every connection.
func (f *fleet) stop() {
	f.cancel()
	for _, c := range f.conns {
		_ = c.CloseNow()
	}
	f.wg.Wait()
}
