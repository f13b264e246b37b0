package follow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// run starts f until the test ends.
func run(t *testing.T, f *follow.Follower) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func quietLog(t *testing.T) *slog.Logger {
	t.Helper()
	_, l := hubtest.NewLog(t)
	return l
}

func waitRevision(t *testing.T, f *follow.Follower, rev int64) *follow.State {
	t.Helper()
	waitFor(t, "the follower to reach the revision", func() bool {
		s := f.Current()
		return s != nil && s.Revision >= rev
	})
	return f.Current()
}

// checkMatchesDatabase compares the follower's state with a fresh snapshot.
func checkMatchesDatabase(t *testing.T, st *store.Store, s *follow.State) {
	t.Helper()
	snap, err := st.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want, err := configset.FromEntities(snap.Revision, snap.Entities)
	if err != nil {
		t.Fatal(err)
	}
	if s.Revision != snap.Revision || s.Hash != want.Hash() || s.Set.Hash() != want.Hash() || s.Set.Len() != want.Len() {
		t.Errorf("state at %d hash %s (%d entities); database at %d hash %s (%d entities)",
			s.Revision, s.Hash, s.Set.Len(), snap.Revision, want.Hash(), want.Len())
	}
}

func TestFollowsWrites(t *testing.T) {
	t.Parallel()
	st := hubtest.Open(t, hubtest.NewDatabase(t))
	svc, _ := hubtest.Service(t, st, "before")
	// A long poll interval: only notifications can make this test pass fast.
	f := follow.New(st, follow.Options{PollInterval: time.Hour, Logger: quietLog(t)})
	run(t, f)
	<-f.Ready()
	first := f.Current()
	if _, ok := first.Set.Get("services", svc["id"].(string)); !ok || first.Revision == 0 {
		t.Fatalf("start-up state at %d lacks the service", first.Revision)
	}

	// LISTEN takes effect shortly after start-up: write until a
	// notification arrives.
	for i := 0; f.Stats().Notifications == 0; i++ {
		if i == 100 {
			t.Fatal("no notification after 100 writes")
		}
		_, rev := hubtest.Service(t, st, fmt.Sprintf("warm-up-%d", i))
		waitRevision(t, f, rev)
		time.Sleep(20 * time.Millisecond)
	}

	plug, rev := hubtest.Plugin(t, st, "key-auth", nil)
	s := waitRevision(t, f, rev)
	select {
	case <-first.Superseded():
	default:
		t.Error("the first state was not marked superseded")
	}
	if !slices.Equal(s.Plugins, []string{"key-auth"}) {
		t.Errorf("configured plugins = %v, want [key-auth]", s.Plugins)
	}
	checkMatchesDatabase(t, st, s)

	rev = hubtest.Delete(t, st, "plugins", plug["id"].(string))
	s = waitRevision(t, f, rev)
	if len(s.Plugins) != 0 {
		t.Errorf("configured plugins after delete = %v", s.Plugins)
	}
	checkMatchesDatabase(t, st, s)
	revs, ok := s.Since(first.Revision)
	if !ok || len(revs) < 2 || revs[len(revs)-1].Revision != rev {
		t.Fatalf("Since(%d) = %d revisions, %v; want them up to %d", first.Revision, len(revs), ok, rev)
	}
	if h, ok := s.HashAt(first.Revision); !ok || h != first.Hash {
		t.Errorf("HashAt(base) = %s, %v; want %s", h, ok, first.Hash)
	}
	if h, ok := s.HashAt(revs[0].Revision); !ok || h != revs[0].Hash {
		t.Errorf("HashAt(%d) = %s, %v", revs[0].Revision, h, ok)
	}
	if h := f.Health(); !h.Reachable {
		t.Errorf("health = %+v, want reachable", h)
	}
}

// quiet is a Source whose notifications never arrive: only polls work.
type quiet struct{ *store.Store }

func (quiet) Listen(ctx context.Context, _ func(), _ func(int64)) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestPollWithoutNotifications(t *testing.T) {
	t.Parallel()
	st := hubtest.Open(t, hubtest.NewDatabase(t))
	f := follow.New(quiet{st}, follow.Options{PollInterval: 20 * time.Millisecond, Logger: quietLog(t)})
	run(t, f)
	<-f.Ready()
	_, rev := hubtest.Service(t, st, "polled")
	checkMatchesDatabase(t, st, waitRevision(t, f, rev))
	if s := f.Stats(); s.Notifications != 0 || s.Polls == 0 {
		t.Errorf("stats = %+v, want polls and no notifications", s)
	}
}

func TestBurstIngestsEveryRevision(t *testing.T) {
	t.Parallel()
	st := hubtest.Open(t, hubtest.NewDatabase(t))
	f := follow.New(st, follow.Options{PollInterval: time.Hour, Logger: quietLog(t)})
	run(t, f)
	<-f.Ready()
	start := f.Current().Revision
	var last int64
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				_, _ = hubtest.Service(t, st, fmt.Sprintf("burst-%d-%d", i, j))
			}
		})
	}
	wg.Wait()
	last, err := st.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := waitRevision(t, f, last)
	checkMatchesDatabase(t, st, s)
	revs, ok := s.Since(start)
	if !ok || len(revs) != 20 {
		t.Fatalf("history holds %d revisions (ok %v), want 20", len(revs), ok)
	}
	for i := 1; i < len(revs); i++ {
		if revs[i].Revision <= revs[i-1].Revision {
			t.Fatalf("history out of order: %d then %d", revs[i-1].Revision, revs[i].Revision)
		}
	}
	if got := follow.Coalesce(revs); len(got) != 20 {
		t.Errorf("coalesced %d changes, want 20", len(got))
	}
}

func TestHistoryIsTrimmed(t *testing.T) {
	t.Parallel()
	st := hubtest.Open(t, hubtest.NewDatabase(t))
	f := follow.New(st, follow.Options{PollInterval: time.Hour, HistoryRevisions: 3, Logger: quietLog(t)})
	run(t, f)
	<-f.Ready()
	start := f.Current().Revision
	var revs []int64
	for i := range 5 {
		_, rev := hubtest.Service(t, st, fmt.Sprintf("trim-%d", i))
		revs = append(revs, rev)
		waitRevision(t, f, rev)
	}
	s := f.Current()
	if s.HistoryLen() != 3 || s.Base() != revs[1] {
		t.Errorf("history holds %d revisions from base %d; want 3 from %d", s.HistoryLen(), s.Base(), revs[1])
	}
	if _, ok := s.Since(start); ok {
		t.Error("Since(start) is covered after trimming")
	}
	if got, ok := s.Since(revs[1]); !ok || len(got) != 3 {
		t.Errorf("Since(base) = %d revisions, %v; want 3", len(got), ok)
	}

	// Older revisions come from the change log in Postgres, without hash.
	older, err := follow.ChangesSince(context.Background(), st, start, s)
	if err != nil || len(older) != 5 || older[0].Hash != "" || older[4].Revision != s.Revision {
		t.Fatalf("ChangesSince(%d) = %d revisions, %v", start, len(older), err)
	}
	// Revisions beyond the state are left out.
	_, after := hubtest.Service(t, st, "beyond")
	older, err = follow.ChangesSince(context.Background(), st, start, s)
	if err != nil || older[len(older)-1].Revision != s.Revision || after <= s.Revision {
		t.Errorf("ChangesSince included revisions beyond the state: %v", err)
	}
	// Trimmed in Postgres too: a snapshot is needed.
	if _, err := st.Trim(context.Background(), 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := follow.ChangesSince(context.Background(), st, start, s); !errors.Is(err, store.ErrLogTrimmed) {
		t.Errorf("ChangesSince after trim = %v, want ErrLogTrimmed", err)
	}
}

func TestCatchesUpAfterTrimWithSnapshot(t *testing.T) {
	t.Parallel()
	st := hubtest.Open(t, hubtest.NewDatabase(t))
	f := follow.New(st, follow.Options{PollInterval: time.Hour, Logger: quietLog(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	<-f.Ready()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}

	// While the follower is stopped, three revisions come and the log is
	// trimmed past its revision.
	for _, n := range []string{"x", "y", "z"} {
		hubtest.Service(t, st, n)
	}
	if _, err := st.Trim(context.Background(), 1, 0); err != nil {
		t.Fatal(err)
	}
	latest, _ := st.Latest(context.Background())
	run(t, f)
	s := waitRevision(t, f, latest)
	checkMatchesDatabase(t, st, s)
	if got := f.Stats().Snapshots; got != 2 {
		t.Errorf("snapshots = %d, want 2 (start-up and after the trim)", got)
	}
	if s.Base() != latest || s.HistoryLen() != 0 {
		t.Errorf("history after a snapshot: base %d, %d revisions", s.Base(), s.HistoryLen())
	}
}

func TestDatabaseGoingBackwardsReloads(t *testing.T) {
	t.Parallel()
	st := hubtest.Open(t, hubtest.NewDatabase(t))
	hubtest.Service(t, st, "a")
	_, rev := hubtest.Service(t, st, "b")
	f := follow.New(st, follow.Options{PollInterval: 20 * time.Millisecond, Logger: quietLog(t)})
	run(t, f)
	waitRevision(t, f, rev)
	// A restored backup: the counter is behind what the hub holds.
	if _, err := st.Pool().Exec(context.Background(), "UPDATE config_revision SET revision = 1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a reload at the older revision", func() bool { return f.Current().Revision == 1 })
	if got := f.Stats().Snapshots; got != 2 {
		t.Errorf("snapshots = %d, want 2", got)
	}
}

func TestPostgresLostAndRegained(t *testing.T) {
	t.Parallel()
	dbURL := hubtest.NewDatabase(t)
	direct := hubtest.Open(t, dbURL)
	proxy, proxied := hubtest.ProxyURL(t, dbURL)
	viaProxy := hubtest.Open(t, proxied)
	log, logger := hubtest.NewLog(t)
	f := follow.New(viaProxy, follow.Options{PollInterval: 50 * time.Millisecond, Logger: logger})
	run(t, f)
	<-f.Ready()

	proxy.Cut()
	_, rev := hubtest.Service(t, direct, "while-down")
	waitFor(t, "the follower to notice", func() bool { return !f.Health().Reachable })
	if f.Current().Revision >= rev {
		t.Fatal("the follower advanced without Postgres")
	}
	if h := f.Health(); h.Error == "" {
		t.Errorf("health = %+v, want an error", h)
	}

	proxy.Restore()
	s := waitRevision(t, f, rev)
	checkMatchesDatabase(t, direct, s)
	waitFor(t, "health to recover", func() bool { return f.Health().Reachable })
	_, rev = hubtest.Service(t, direct, "after")
	waitRevision(t, f, rev)
	log.WaitFor(slog.LevelWarn, "cannot read the configuration from Postgres; retrying", time.Second)
	log.WaitFor(slog.LevelInfo, "reading the configuration from Postgres again", time.Second)
}

func TestCoalesce(t *testing.T) {
	t.Parallel()
	up := func(typ, id, v string) protocol.Change {
		return protocol.Change{Op: protocol.OpUpsert, Type: typ, ID: id, Entity: map[string]any{"id": id, "v": v}}
	}
	del := func(typ, id string) protocol.Change { return protocol.Change{Op: protocol.OpDelete, Type: typ, ID: id} }
	tests := []struct {
		name string
		revs []follow.Revision
		want []protocol.Change
	}{
		{"nothing", nil, []protocol.Change{}},
		{"one revision", []follow.Revision{{Changes: []protocol.Change{up("s", "1", "a")}}}, []protocol.Change{up("s", "1", "a")}},
		{
			"last op wins",
			[]follow.Revision{
				{Changes: []protocol.Change{up("s", "1", "a"), up("s", "2", "a")}},
				{Changes: []protocol.Change{up("s", "1", "b"), del("s", "2")}},
				{Changes: []protocol.Change{up("r", "1", "c")}},
			},
			[]protocol.Change{up("s", "1", "b"), del("s", "2"), up("r", "1", "c")},
		},
		{
			"duplicates within a revision",
			[]follow.Revision{{Changes: []protocol.Change{up("s", "1", "a"), up("s", "1", "b")}}},
			[]protocol.Change{up("s", "1", "b")},
		},
		{
			"delete then recreate",
			[]follow.Revision{{Changes: []protocol.Change{del("s", "1")}}, {Changes: []protocol.Change{up("s", "1", "c")}}},
			[]protocol.Change{up("s", "1", "c")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := follow.Coalesce(tt.revs)
			if len(got) != len(tt.want) {
				t.Fatalf("Coalesce = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Op != tt.want[i].Op || got[i].ID != tt.want[i].ID || got[i].Type != tt.want[i].Type ||
					(got[i].Entity != nil && got[i].Entity["v"] != tt.want[i].Entity["v"]) {
					t.Errorf("change %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
