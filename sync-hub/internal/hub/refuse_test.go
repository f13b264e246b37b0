package hub_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

// TestRefusals sends what breaks the protocol and checks the connection is
// closed with the right code, while a well-behaved data plane connected
// meanwhile keeps getting every change.
//
//nolint:tparallel // the "refusals" group is not parallel: it must finish before the last check.
func TestRefusals(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	e := newEnv(t, envOptions{hub: func(o *hub.Options) { o.MaxPayload = limit }})
	good := e.connect(hello())
	if _, ok := recv(t, good).(*protocol.Pong); !ok {
		t.Fatal("want a pong for an empty configuration")
	}

	helloFrame := func() []byte {
		h := hello()
		f, err := protocol.Encode(&h)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write([]byte(`{"type":"ping","protocol":1,"revision":0,"config_hash":"` + strings.Repeat("0", 2*limit)))
	_ = zw.Close()

	tests := []struct {
		name      string
		frames    [][]byte
		wantError string // the ErrorMessage code, if one comes first
		wantClose websocket.StatusCode
		wantLog   string
	}{
		{
			name:   "not JSON first",
			frames: [][]byte{[]byte("hello?")}, wantError: protocol.CodeBadMessage,
			wantClose: protocol.ClosePolicyViolation, wantLog: "invalid message from data plane: decode: malformed message",
		},
		{
			name:      "not a hello first",
			frames:    [][]byte{[]byte(`{"type":"ping","protocol":1,"revision":0,"config_hash":"00000000000000000000000000000000"}`)},
			wantError: protocol.CodeBadMessage, wantClose: protocol.ClosePolicyViolation,
		},
		{
			name:      "malformed after hello",
			frames:    [][]byte{helloFrame(), []byte(`{"type":"ack","protocol":1,"revision":-1}`)},
			wantError: protocol.CodeBadMessage, wantClose: protocol.ClosePolicyViolation,
			wantLog: "invalid message from data plane: decode ack: malformed message",
		},
		{
			name:      "unexpected type after hello",
			frames:    [][]byte{helloFrame(), []byte(`{"type":"pong","protocol":1,"revision":0,"config_hash":"00000000000000000000000000000000"}`)},
			wantError: protocol.CodeBadMessage, wantClose: protocol.ClosePolicyViolation,
			wantLog: "unexpected pong message from data plane",
		},
		{
			name:      "newer protocol",
			frames:    [][]byte{[]byte(`{"type":"hello","protocol":99}`)},
			wantError: protocol.CodeUnsupportedProtocol, wantClose: protocol.ClosePolicyViolation,
		},
		{
			name:      "oversized frame",
			frames:    [][]byte{helloFrame(), bytes.Repeat([]byte(" "), limit+1)},
			wantClose: protocol.CloseTooBig,
			wantLog:   "data plane sent a message larger than the limit of 65536 bytes",
		},
		{
			name:      "compression bomb",
			frames:    [][]byte{helloFrame(), bomb.Bytes()},
			wantError: protocol.CodeBadMessage, wantClose: protocol.CloseTooBig,
			wantLog: "message too large",
		},
	}
	// The group returns once its parallel cases are done.
	t.Run("refusals", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				refused(t, e, tt.frames, tt.wantError, tt.wantClose, tt.wantLog)
			})
		}
		t.Run("no subprotocol", func(t *testing.T) {
			t.Parallel()
			_, status, err := hubtest.Dial(ctxT(t), e.h.Addr(), e.client, true)
			if err == nil || status != http.StatusBadRequest {
				t.Fatalf("dial without the subprotocol: %v, status %d; want 400", err, status)
			}
			e.log.WaitFor(slog.LevelWarn, "data plane did not offer the websocket subprotocol gatehouse.sync.v1 [ip: 127.0.0.1]", time.Second)
		})
		t.Run("another path", func(t *testing.T) {
			t.Parallel()
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: e.client}}
			req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, "https://"+e.h.Addr()+"/v1/outlet", nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			client.CloseIdleConnections()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("status = %d, want 404", resp.StatusCode)
			}
		})
	})

	// The well-behaved data plane was never disturbed.
	_, rev := hubtest.Service(t, e.direct, "after")
	if err := good.WaitRevision(ctxT(t), rev); err != nil {
		t.Fatal(err)
	}
}

// refused sends frames on a new connection and checks the hub answers with
// an error message of code wantError (when not empty), closes with
// wantClose, and logs wantLog (when not empty) at warn level.
func refused(t *testing.T, e *env, frames [][]byte, wantError string, wantClose websocket.StatusCode, wantLog string) {
	t.Helper()
	ctx := ctxT(t)
	conn, _, err := hubtest.Dial(ctx, e.h.Addr(), e.client, false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.CloseNow() }()
	for _, f := range frames {
		if err := conn.Write(ctx, websocket.MessageBinary, f); err != nil {
			t.Fatal(err)
		}
	}
	dp := &hubtest.DP{Conn: conn}
	for {
		msg, err := dp.Recv(ctx)
		if err != nil {
			if got := websocket.CloseStatus(err); got != wantClose {
				t.Fatalf("closed with %v (%v), want %v", got, err, wantClose)
			}
			break
		}
		switch m := msg.(type) {
		case *protocol.ErrorMessage:
			if m.Code != wantError {
				t.Errorf("error message %s: %s, want code %s", m.Code, m.Message, wantError)
			}
			wantError = ""
		case *protocol.Pong:
			// The answer to the hello of an empty configuration.
		default:
			t.Fatalf("unexpected %s", msg.Type())
		}
	}
	if wantError != "" {
		t.Errorf("no error message with code %s before the close", wantError)
	}
	if wantLog != "" {
		e.log.WaitFor(slog.LevelWarn, wantLog, 5*time.Second)
	}
}

func TestGoingAwayOnShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	_, rev := hubtest.Service(t, e.direct, "svc")
	var dps []*hubtest.DP
	for range 3 {
		dp := e.connect(hello())
		if err := dp.WaitRevision(ctxT(t), rev); err != nil {
			t.Fatal(err)
		}
		dps = append(dps, dp)
	}
	// One data plane waits for an answer it will not get: shutdown must not
	// wait for it.
	withheld := e.connect(hubtest.NewHello(cpVersion, plugins("banana", "1.0.0")...))
	// Another has not said hello yet.
	conn, _, err := hubtest.Dial(ctxT(t), e.h.Addr(), e.client, false)
	if err != nil {
		t.Fatal(err)
	}
	silent := &hubtest.DP{Conn: conn}
	for _, dp := range dps {
		e.row(dp.Hello.NodeID, func(r storeRow) bool { return r.Revision == rev })
	}
	// The data planes read, as real ones do, so they answer the close.
	closed := make(chan error, len(dps)+2)
	for _, dp := range append(dps, withheld, silent) {
		go func() {
			_, err := dp.Recv(context.Background())
			for err == nil {
				_, err = dp.Recv(context.Background())
			}
			closed <- err
		}()
	}
	start := time.Now()
	e.stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	for range len(dps) + 2 {
		if err := <-closed; websocket.CloseStatus(err) != protocol.CloseGoingAway {
			t.Errorf("data plane closed with %v (%v), want going away", websocket.CloseStatus(err), err)
		}
	}
	// The rows were written before Run returned.
	for _, dp := range dps {
		row, err := e.direct.GetDataPlane(context.Background(), dp.Hello.NodeID)
		if err != nil || row.Connected {
			t.Errorf("row after shutdown: connected %v, %v; want disconnected", row.Connected, err)
		}
	}
}
