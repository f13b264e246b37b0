package hub_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

// reconnect dials again as prev's node, with what it holds.
func (e *env) reconnect(prev *hubtest.DP) *hubtest.DP {
	e.t.Helper()
	prev.Close()
	dp, err := hubtest.Reconnect(ctxT(e.t), e.h.Addr(), e.client, prev)
	if err != nil {
		e.t.Fatalf("reconnect: %v", err)
	}
	e.t.Cleanup(func() { _ = dp.Conn.CloseNow() })
	return dp
}

// TestDeltaOrSnapshot covers what a data plane gets on connecting: nothing
// but a pong when current, a delta when its revision is covered (by the
// in-memory history, or by the change log in Postgres), and a snapshot when
// the log was trimmed past it or it holds another configuration.
func TestDeltaOrSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{follow: follow.Options{HistoryRevisions: 3}})

	// Two data planes follow the first revisions, then go away.
	_, r1 := hubtest.Service(t, e.direct, "s1")
	early := e.connect(hello())
	if err := early.WaitRevision(ctxT(t), r1); err != nil {
		t.Fatal(err)
	}
	var revs []int64
	for i := 2; i <= 5; i++ {
		_, rev := hubtest.Service(t, e.direct, fmt.Sprintf("s%d", i))
		revs = append(revs, rev)
	}
	recent := e.connect(hello())
	if err := recent.WaitRevision(ctxT(t), revs[3]); err != nil {
		t.Fatal(err)
	}
	_, rev := hubtest.Service(t, e.direct, "s6")
	revs = append(revs, rev)
	recent.Close()
	early.Close()
	e.waitHub(revs[4])
	st := e.f.Current()
	if st.Base() <= r1 || st.Base() > revs[3] {
		t.Fatalf("in-memory history from %d; the test needs it to cover %d but not %d", st.Base(), revs[3], r1)
	}

	// Current gets a pong.
	{
		h := hello()
		h.Revision, h.ConfigHash = st.Revision, st.Hash
		dp := e.connect(h)
		pong, ok := recv(t, dp).(*protocol.Pong)
		if !ok || pong.Revision != st.Revision || pong.ConfigHash != st.Hash {
			t.Fatalf("first frame = %#v, want a pong at %d", pong, st.Revision)
		}
	}
	// Current revision with another hash gets a snapshot.
	{
		h := hello()
		h.Revision, h.ConfigHash = st.Revision, "ffffffffffffffffffffffffffffffff"
		dp := e.connect(h)
		if snap, ok := recv(t, dp).(*protocol.Snapshot); !ok || snap.Revision != st.Revision {
			t.Fatalf("first frame = %#v, want a snapshot", snap)
		}
	}
	// In memory: a delta.
	{
		dp := e.reconnect(recent)
		msg, err := dp.Next(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		d, ok := msg.(*protocol.Delta)
		if !ok || d.FromRevision != revs[3] || d.Revision != st.Revision || len(d.Changes) != 1 {
			t.Fatalf("got %#v, want a delta from %d with one change", msg, revs[3])
		}
		if dp.Set.Hash() != st.Hash {
			t.Error("the data plane does not hold the control plane's configuration")
		}
	}
	// In the change log only: a delta.
	{
		dp := e.reconnect(early)
		msg, err := dp.Next(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		d, ok := msg.(*protocol.Delta)
		if !ok || d.FromRevision != r1 || len(d.Changes) != 5 {
			t.Fatalf("got %#v, want a delta from %d with five changes", msg, r1)
		}
		if dp.Set.Hash() != st.Hash {
			t.Error("the data plane does not hold the control plane's configuration")
		}
	}
	// Behind a trimmed log: a snapshot.
	{
		if _, err := e.direct.Trim(ctxT(t), 1, 0); err != nil {
			t.Fatal(err)
		}
		// A fresh data plane (revision 0): a delta from 0 has not been
		// built before (deltas are shared), and the log no longer has it.
		dp := e.connect(hello())
		msg, err := dp.Next(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if snap, ok := msg.(*protocol.Snapshot); !ok || snap.Revision != st.Revision || len(snap.Entities["services"]) != 6 {
			t.Fatalf("got %#v, want a snapshot with six services", msg)
		}
	}
}

// TestCoalescing shows the writer never queues: while a data plane is slow
// to answer, revisions pile up and it then gets one delta to the newest,
// while a fast data plane gets each revision.
func TestCoalescing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	_, r0 := hubtest.Service(t, e.direct, "first")
	e.waitHub(r0)
	slow := e.connect(hello())
	fast := e.connect(hello())
	// The slow data plane receives the first configuration but does not
	// answer yet.
	first := recv(t, slow)
	if err := fast.WaitRevision(ctx, r0); err != nil {
		t.Fatal(err)
	}

	svc, _ := hubtest.Service(t, e.direct, "changed")
	var last int64
	for i := range 10 {
		_, last = hubtest.Upsert(t, e.direct, "services", map[string]any{
			"id": svc["id"], "name": "changed", "host": fmt.Sprintf("h%d.example.com", i),
		})
		if err := fast.WaitRevision(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		_, last = hubtest.Service(t, e.direct, fmt.Sprintf("more-%d", i))
	}
	if err := fast.WaitRevision(ctx, last); err != nil {
		t.Fatal(err)
	}
	if fast.Received[protocol.TypeDelta] < 12 {
		t.Errorf("the fast data plane got %v, want a delta per revision", fast.Received)
	}
	e.waitHub(last)

	// Nothing was sent to the slow one meanwhile: its next frame is the
	// pong to this ping.
	if err := slow.Send(ctx, &protocol.Ping{Revision: 0, ConfigHash: protocol.EmptyHash}); err != nil {
		t.Fatal(err)
	}
	if msg := recv(t, slow); msg.Type() != protocol.TypePong || msg.(*protocol.Pong).Revision != last {
		t.Fatalf("got %#v, want a pong at %d", msg, last)
	}
	reply, err := slow.Apply(first)
	if err != nil {
		t.Fatal(err)
	}
	if err := slow.Send(ctx, reply); err != nil {
		t.Fatal(err)
	}
	msg, err := slow.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := msg.(*protocol.Delta)
	if !ok || d.FromRevision != r0 || d.Revision != last || len(d.Changes) != 6 {
		t.Fatalf("got %#v, want one delta from %d to %d with 6 changes (the last of 11 on one entity, 5 others)", msg, r0, last)
	}
	if slow.Set.Hash() != fast.Set.Hash() || slow.Received[protocol.TypeDelta]+slow.Received[protocol.TypeSnapshot] != 2 {
		t.Errorf("slow data plane: %v messages, hash %s; fast: %s", slow.Received, slow.Set.Hash(), fast.Set.Hash())
	}
	got, _ := slow.Set.Get("services", svc["id"].(string))
	if got["host"] != "h9.example.com" {
		t.Errorf("coalesced host = %v, want the last write's", got["host"])
	}
}

// TestNackAndSnapshotRequest: after a nack the hub sends nothing more until
// a newer revision exists, then a delta from the revision the data plane
// still holds; a snapshot request gets a snapshot.
func TestNackAndSnapshotRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	_, r1 := hubtest.Service(t, e.direct, "a")
	dp := e.connect(hello())
	if err := dp.WaitRevision(ctx, r1); err != nil {
		t.Fatal(err)
	}
	_, r2 := hubtest.Service(t, e.direct, "b")
	if d, ok := recv(t, dp).(*protocol.Delta); !ok || d.Revision != r2 {
		t.Fatalf("want a delta to %d", r2)
	}
	if err := dp.Send(ctx, protocol.NewNack(r2, "route conflicts with itself", map[string]string{"routes.x.paths": "bad"})); err != nil {
		t.Fatal(err)
	}
	row := e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.LastError != "" })
	if row.LastError != "route conflicts with itself" || row.Revision != r1 {
		t.Errorf("row last error %q revision %d, want the nack's error at %d", row.LastError, row.Revision, r1)
	}
	e.log.WaitFor(slog.LevelWarn, fmt.Sprintf("data plane refused revision %d: route conflicts with itself", r2), time.Second)
	if err := dp.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := recv(t, dp).(*protocol.Pong); !ok {
		t.Fatal("after a nack, the hub sent something other than a pong")
	}
	_, r3 := hubtest.Service(t, e.direct, "c")
	msg, err := dp.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := msg.(*protocol.Delta); !ok || d.FromRevision != r1 || d.Revision != r3 || len(d.Changes) != 2 {
		t.Fatalf("got %#v, want a delta from %d to %d", msg, r1, r3)
	}
	e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.LastError == "" && r.Revision == r3 })

	if err := dp.Send(ctx, &protocol.SnapshotRequest{Revision: r3, Reason: "digest mismatch"}); err != nil {
		t.Fatal(err)
	}
	msg, err = dp.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := msg.(*protocol.Snapshot); !ok || s.Revision != r3 {
		t.Fatalf("got %#v, want a snapshot at %d", msg, r3)
	}
}

// TestDataPlaneAhead: a data plane that claims a revision the hub has not
// seen (from a hub ahead of it, or a database since restored) waits for
// the hub to catch up, then gets a snapshot.
func TestDataPlaneAhead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{hub: func(o *hub.Options) { o.AheadGrace = 200 * time.Millisecond }})
	_, rev := hubtest.Service(t, e.direct, "a")
	e.waitHub(rev)
	h := hello()
	h.Revision, h.ConfigHash = rev+100, "ffffffffffffffffffffffffffffffff"
	dp := e.connect(h)
	msg, err := dp.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := msg.(*protocol.Snapshot); !ok || s.Revision != rev {
		t.Fatalf("got %#v, want a snapshot at %d", msg, rev)
	}
}

func TestPingAndSilence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{hub: func(o *hub.Options) { o.PingTimeout = 300 * time.Millisecond }})
	dp := e.connect(hello())
	ctx := ctxT(t)
	if _, ok := recv(t, dp).(*protocol.Pong); !ok {
		t.Fatal("an empty configuration: want a pong first")
	}
	// Pings keep it alive past the timeout.
	for range 4 {
		if err := dp.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if pong, ok := recv(t, dp).(*protocol.Pong); !ok || pong.ConfigHash != protocol.EmptyHash {
			t.Fatalf("want a pong, got %#v", pong)
		}
		time.Sleep(150 * time.Millisecond)
	}
	// Then silence: dropped.
	if err := dp.WaitClosed(5 * time.Second); err == nil || err.Error() == "connection still open" {
		t.Fatalf("a silent data plane was not dropped: %v", err)
	}
	e.log.WaitFor(slog.LevelWarn, "data plane sent nothing for 300ms; closing the connection [id: "+dp.Hello.NodeID, time.Second)
	e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return !r.Connected })
}

func TestAckTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{hub: func(o *hub.Options) { o.AckTimeout = 300 * time.Millisecond }})
	_, rev := hubtest.Service(t, e.direct, "a")
	e.waitHub(rev)
	dp := e.connect(hello())
	if _, ok := recv(t, dp).(*protocol.Delta); !ok {
		t.Fatal("want a configuration")
	}
	_, err := dp.Recv(ctxT(t))
	if hubtest.CloseStatus(err) != hub.CloseTryAgainLater {
		t.Fatalf("unanswered configuration: %v, want a close with %d", err, hub.CloseTryAgainLater)
	}
	e.log.WaitFor(slog.LevelWarn, fmt.Sprintf("data plane did not answer revision %d within 300ms", rev), time.Second)
}

// TestReconnectAfterRestart: a data plane that reconnects with an old
// revision to a hub that restarted (empty in-memory history) gets a delta
// from the change log.
func TestReconnectAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	_, r1 := hubtest.Service(t, e.direct, "a")
	dp := e.connect(hello())
	if err := dp.WaitRevision(ctxT(t), r1); err != nil {
		t.Fatal(err)
	}
	dp.Close()
	e.stop()
	_, r2 := hubtest.Service(t, e.direct, "b")

	e2 := newEnv(t, envOptions{dbURL: e.dbURL})
	if e2.f.Current().Base() != r2 {
		t.Fatalf("restarted hub's history starts at %d, want %d", e2.f.Current().Base(), r2)
	}
	again, err := hubtest.Reconnect(ctxT(t), e2.h.Addr(), e2.client, dp)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	msg, err := again.Next(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := msg.(*protocol.Delta); !ok || d.FromRevision != r1 || d.Revision != r2 {
		t.Fatalf("got %#v, want a delta from %d to %d", msg, r1, r2)
	}
}

// TestSnapshotEncodedOnce: data planes that need a snapshot of the same
// revision share one encoding.
func TestSnapshotEncodedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{follow: follow.Options{HistoryRevisions: 1}})
	hubtest.Service(t, e.direct, "a")
	_, rev := hubtest.Service(t, e.direct, "b")
	e.waitHub(rev)
	if _, err := e.direct.Trim(ctxT(t), 1, 0); err != nil {
		t.Fatal(err)
	}
	var dps []*hubtest.DP
	for range 5 {
		dps = append(dps, e.connect(hello()))
	}
	for _, dp := range dps {
		msg, err := dp.Next(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := msg.(*protocol.Snapshot); !ok || s.Revision != rev {
			t.Fatalf("got %#v, want a snapshot at %d", msg, rev)
		}
	}
	if got := e.counter("gatehouse_sync_hub_snapshot_encodes_total"); got != 1 {
		t.Errorf("snapshots encoded %v times, want once", got)
	}
	if got := e.counter("gatehouse_sync_hub_sent_messages_total", "type", "snapshot"); got != 5 {
		t.Errorf("snapshots sent: %v, want 5", got)
	}
}
