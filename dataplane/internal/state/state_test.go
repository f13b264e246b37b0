package state_test

import (
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/state"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
)

func TestReadinessFollowsTheRuntime(t *testing.T) {
	t.Parallel()
	cat := fixture.Catalog()
	b := gateway.NewBuilder(cat)
	empty, err := b.Empty(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h := gateway.NewHolder(empty)
	s := state.New(h, "id", "host", map[string]string{"a": "b"}, false)
	if st := s.Status(); st.Ready || st.Reason != state.ReasonNotInitialized || st.NodeID != "id" || st.Labels["a"] != "b" {
		t.Errorf("nothing loaded: %+v", st)
	}
	none, err := b.Build(t.Context(), configset.New(), protocol.EmptyHash)
	if err != nil {
		t.Fatal(err)
	}
	h.Swap(none)
	if st := s.Status(); st.Ready || st.Reason != state.ReasonEmpty {
		t.Errorf("empty configuration: %+v", st)
	}
	set, err := configset.FromEntities(9, fixture.Entities(cat, 6))
	if err != nil {
		t.Fatal(err)
	}
	full, err := b.Build(t.Context(), set, "0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	h.Swap(full)
	if st := s.Status(); !st.Ready || st.Reason != "" || st.Revision != 9 || st.ConfigHash != "0123456789abcdef0123456789abcdef" || st.Entities != set.Len() {
		t.Errorf("loaded: %+v", st)
	}
}

func TestSyncAndConnectionRecords(t *testing.T) {
	t.Parallel()
	b := gateway.NewBuilder(fixture.Catalog())
	empty, _ := b.Empty(t.Context())
	s := state.New(gateway.NewHolder(empty), "id", "host", nil, false)
	t0 := time.Unix(1700000000, 0)
	s.Loaded(state.OriginCache)
	s.Connecting("cp1:8005")
	s.Disconnected(t0, "connection refused")
	st := s.Status()
	if st.Origin != state.OriginCache || st.ControlPlane.Connected || st.ControlPlane.Address != "cp1:8005" ||
		st.ControlPlane.LastError != "connection refused" || !st.ControlPlane.Since.Equal(t0) {
		t.Errorf("after a failed attempt: %+v", st)
	}
	s.Connected("cp2:8005", t0.Add(time.Second))
	s.SyncFailed(t0.Add(2*time.Second), "invalid configuration")
	st = s.Status()
	if !st.ControlPlane.Connected || st.ControlPlane.Address != "cp2:8005" || st.LastSyncError != "invalid configuration" ||
		st.ControlPlane.LastError != "connection refused" {
		t.Errorf("connected, sync failed: %+v", st)
	}
	s.Synced(t0.Add(3 * time.Second))
	st = s.Status()
	if st.LastSyncError != "" || !st.LastSync.Equal(t0.Add(3*time.Second)) || st.Origin != state.OriginControlPlane {
		t.Errorf("synced: %+v", st)
	}
	s.Disconnected(t0.Add(4*time.Second), "going away")
	if st := s.Status(); st.ControlPlane.Connected || !st.ControlPlane.Since.Equal(t0.Add(4*time.Second)) {
		t.Errorf("disconnected: %+v", st)
	}
}
