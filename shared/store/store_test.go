package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/store/storetest"
)

func catalog(tb testing.TB) *entity.Catalog {
	tb.Helper()
	set, err := plugin.Load("bundled")
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := entity.New(set)
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func openStore(tb testing.TB) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), storetest.NewMigrated(tb), catalog(tb), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// build processes and validates an input as the Admin API would.
func build(tb testing.TB, s *store.Store, typ string, in map[string]any) map[string]any {
	tb.Helper()
	e, verr := s.Catalog().Type(typ).Write(in, schema.Insert, time.Now())
	if verr != nil {
		tb.Fatalf("invalid %s %v: %s", typ, in, verr.Message)
	}
	return e
}

func insert(tb testing.TB, s *store.Store, typ string, in map[string]any) map[string]any {
	tb.Helper()
	e := build(tb, s, typ, in)
	if _, err := s.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.Insert(ctx, typ, e, store.PutOptions{})
	}); err != nil {
		tb.Fatalf("insert %s: %v", typ, err)
	}
	return e
}

func kongErr(tb testing.TB, err error) *schema.Error {
	tb.Helper()
	var ke *schema.Error
	if !errors.As(err, &ke) {
		tb.Fatalf("error %v is not a Kong error", err)
	}
	return ke
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	dbURL := storetest.NewDatabase(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := store.CheckSchema(ctx, pool); !errors.Is(err, store.ErrSchemaOutdated) {
		t.Fatalf("CheckSchema on an empty database = %v; want ErrSchemaOutdated", err)
	}
	// Several processes migrating at once: exactly one applies each version.
	var wg sync.WaitGroup
	applied := make([][]int, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() { applied[i], errs[i] = store.Migrate(ctx, pool) })
	}
	wg.Wait()
	total := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("concurrent Migrate: %v", errs[i])
		}
		total += len(applied[i])
	}
	if total != store.SchemaVersion() {
		t.Errorf("migrations applied %d times in all; want %d", total, store.SchemaVersion())
	}
	if again, err := store.Migrate(ctx, pool); err != nil || len(again) != 0 {
		t.Errorf("second Migrate = %v, %v; want nothing to do", again, err)
	}
	if err := store.CheckSchema(ctx, pool); err != nil {
		t.Errorf("CheckSchema after migrating: %v", err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx, pool); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("Migrate on a newer schema = %v; want ErrSchemaTooNew", err)
	}
	if err := store.CheckSchema(ctx, pool); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("CheckSchema on a newer schema = %v; want ErrSchemaTooNew", err)
	}
}

func TestWriteLogsEveryChange(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	svc := insert(t, s, "services", map[string]any{"name": "svc", "host": "example.com"})
	route := insert(t, s, "routes", map[string]any{"name": "r", "paths": []any{"/"}, "service": map[string]any{"id": svc["id"]}})
	consumer := insert(t, s, "consumers", map[string]any{"username": "alice"})
	plug := insert(t, s, "plugins", map[string]any{"name": "key-auth", "route": map[string]any{"id": route["id"]}})
	cred := insert(t, s, "keyauth_credentials", map[string]any{"key": "k1", "consumer": map[string]any{"id": consumer["id"]}})

	latest, err := s.Latest(ctx)
	if err != nil || latest != 5 {
		t.Fatalf("Latest = %d, %v; want 5", latest, err)
	}
	revs, changes, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 5 || len(changes) != 5 {
		t.Fatalf("Changes(0) = %d revisions, %d changes; want 5 and 5", len(revs), len(changes))
	}
	wantTypes := []string{"services", "routes", "consumers", "plugins", "keyauth_credentials"}
	for i, c := range changes {
		if c.Revision != int64(i+1) || c.Type != wantTypes[i] || c.Op != store.OpUpsert || c.Entity == nil {
			t.Errorf("change %d = %+v; want revision %d upsert of %s", i, c, i+1, wantTypes[i])
		}
	}

	// Deleting the route cascades to its plugin: one revision, two rows,
	// child first.
	rev, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Delete(ctx, "routes", route["id"].(string))
		return err
	})
	if err != nil || rev != 6 {
		t.Fatalf("delete route: rev %d, %v", rev, err)
	}
	_, changes, err = s.Changes(ctx, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].ID != plug["id"] || changes[1].ID != route["id"] ||
		changes[0].Op != store.OpDelete || changes[1].Op != store.OpDelete {
		t.Errorf("cascade log = %+v; want the plugin then the route deleted", changes)
	}

	// A delete of something absent changes nothing and uses no revision.
	rev, err = s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		existed, err := tx.Delete(ctx, "routes", route["id"].(string))
		if existed {
			t.Error("route still existed")
		}
		return err
	})
	if err != nil || rev != 0 {
		t.Errorf("no-op write = %d, %v; want 0, nil", rev, err)
	}
	// A failed write uses no revision either.
	_, err = s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.Insert(ctx, "services", build(t, s, "services", map[string]any{"name": "svc", "host": "h"}), store.PutOptions{})
	})
	if ke := kongErr(t, err); ke.Code != schema.CodeUniqueViolation || ke.Message != `UNIQUE violation detected on '{name="svc"}'` {
		t.Errorf("duplicate name: %+v", ke)
	}
	insert(t, s, "services", map[string]any{"name": "svc2", "host": "h"})
	if latest, _ := s.Latest(ctx); latest != 7 {
		t.Errorf("Latest = %d; want 7 (no gaps from no-op or failed writes)", latest)
	}

	// Restrict: a service with routes cannot be deleted.
	insert(t, s, "routes", map[string]any{"paths": []any{"/x"}, "service": map[string]any{"id": svc["id"]}})
	_, err = s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Delete(ctx, "services", svc["id"].(string))
		return err
	})
	if ke := kongErr(t, err); ke.Code != schema.CodeForeignKeyViolation ||
		ke.Message != "an existing 'routes' entity references this 'services' entity" {
		t.Errorf("restricted delete: %+v", ke)
	}

	// Deleting a consumer cascades to its credentials.
	_, err = s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.Delete(ctx, "consumers", consumer["id"].(string))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "keyauth_credentials", cred["id"].(string)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("credential survived its consumer: %v", err)
	}
}

func TestWriteChecksReferencesAndKeys(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	missing := "6b8a5f2c-8d2e-4f5a-9c1d-2e3f4a5b6c7d"
	_, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.Insert(ctx, "routes", build(t, s, "routes", map[string]any{"paths": []any{"/"}, "service": map[string]any{"id": missing}}), store.PutOptions{})
	})
	ke := kongErr(t, err)
	if ke.Code != schema.CodeForeignKeyViolation ||
		ke.Message != fmt.Sprintf(`the foreign key '{id="%s"}' does not reference an existing 'services' entity.`, missing) {
		t.Errorf("dangling reference: %+v", ke)
	}
	svc := insert(t, s, "services", map[string]any{"host": "h"})
	p := build(t, s, "plugins", map[string]any{"name": "rate-limiting", "service": map[string]any{"id": svc["id"]}, "config": map[string]any{"minute": 5}})
	if _, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.Insert(ctx, "plugins", p, store.PutOptions{}) }); err != nil {
		t.Fatal(err)
	}
	// Same plugin on the same scope again: Kong's cache-key violation.
	p2 := build(t, s, "plugins", map[string]any{"name": "rate-limiting", "service": map[string]any{"id": svc["id"]}, "config": map[string]any{"minute": 6}})
	_, err = s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.Insert(ctx, "plugins", p2, store.PutOptions{})
	})
	ke = kongErr(t, err)
	if ke.Code != schema.CodeUniqueViolation || ke.HTTPStatus() != 409 {
		t.Errorf("plugin cache key: %+v", ke)
	}
	// Insert with an existing id: primary key violation; upsert replaces.
	_, err = s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.Insert(ctx, "services", svc, store.PutOptions{})
	})
	if ke := kongErr(t, err); ke.Code != schema.CodePrimaryKeyViolation {
		t.Errorf("duplicate id: %+v", ke)
	}
	svc["host"] = "other"
	if _, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.Upsert(ctx, "services", svc, store.PutOptions{})
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "services", svc["id"].(string))
	if err != nil || got["host"] != "other" {
		t.Errorf("after upsert: %v, %v", got, err)
	}
	// Renaming frees the old unique key.
	named := insert(t, s, "services", map[string]any{"name": "a", "host": "h"})
	named["name"] = "b"
	if _, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.Update(ctx, "services", named, store.PutOptions{})
	}); err != nil {
		t.Fatal(err)
	}
	insert(t, s, "services", map[string]any{"name": "a", "host": "h"})
	if e, err := s.GetByKey(ctx, "services", "name", "b"); err != nil || e["id"] != named["id"] {
		t.Errorf("GetByKey(b) = %v, %v", e, err)
	}
}

func TestConcurrentWritersGetContiguousRevisions(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	const writers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := build(t, s, "consumers", map[string]any{"username": fmt.Sprintf("u-%d-%d", w, i)})
				if _, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
					return tx.Insert(ctx, "consumers", e, store.PutOptions{})
				}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	revs, changes, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != writers*each || len(changes) != writers*each {
		t.Fatalf("%d revisions, %d changes; want %d", len(revs), len(changes), writers*each)
	}
	for i, r := range revs {
		if r.Revision != int64(i+1) {
			t.Fatalf("revision %d at position %d: revisions must be contiguous", r.Revision, i)
		}
	}
}

func TestListPagingTagsAndParents(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	svc := insert(t, s, "services", map[string]any{"host": "h"})
	for i := range 25 {
		tags := []any{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		if i%3 == 0 {
			tags = append(tags, "three")
		}
		in := map[string]any{"paths": []any{fmt.Sprintf("/p%d", i)}, "tags": tags}
		if i < 10 {
			in["service"] = map[string]any{"id": svc["id"]}
		}
		insert(t, s, "routes", in)
	}
	var all []string
	offset := ""
	for pages := 0; ; pages++ {
		p, err := s.List(ctx, "routes", store.ListQuery{Size: 10, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Data {
			all = append(all, e["id"].(string))
		}
		if p.Offset == "" {
			if pages != 2 {
				t.Errorf("25 routes in pages of 10 took %d pages", pages+1)
			}
			break
		}
		offset = p.Offset
	}
	if len(all) != 25 {
		t.Fatalf("paged %d routes; want 25", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatal("pages are not in id order")
		}
	}
	count := func(q store.ListQuery) int {
		q.Size = 1000
		p, err := s.List(ctx, "routes", q)
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Data)
	}
	if n := count(store.ListQuery{Tags: []string{"even", "three"}}); n != 5 {
		t.Errorf("even AND three = %d; want 5", n)
	}
	if n := count(store.ListQuery{Tags: []string{"even", "three"}, TagsOr: true}); n != 17 {
		t.Errorf("even OR three = %d; want 17", n)
	}
	if n := count(store.ListQuery{ParentType: "services", ParentID: svc["id"].(string), Field: "service"}); n != 10 {
		t.Errorf("routes of the service = %d; want 10", n)
	}
	if _, err := s.List(ctx, "routes", store.ListQuery{Offset: "%%%"}); kongErr(t, err).Code != schema.CodeInvalidOffset {
		t.Errorf("bad offset: %v", err)
	}
	tags, err := s.ListTags(ctx, "three", 100, "")
	if err != nil || len(tags.Data) != 9 {
		t.Errorf("ListTags(three) = %d rows, %v; want 9", len(tags.Data), err)
	}
}

func TestSnapshotTrimAndListen(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notified := make(chan int64, 16)
	listening := make(chan error, 1)
	ready := make(chan struct{})
	go func() { listening <- s.Listen(ctx, func() { close(ready) }, func(rev int64) { notified <- rev }) }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("LISTEN not in effect within 10 s")
	}

	// The listener needs a moment to LISTEN; keep writing until it hears one.
	deadline := time.After(10 * time.Second)
	var last int64
	for heard := false; !heard; {
		insert(t, s, "consumers", map[string]any{"username": schema.NewUUID()})
		last, _ = s.Latest(ctx)
		select {
		case rev := <-notified:
			heard = rev > 0
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notification within 10 s")
		}
	}
	for range 3 {
		insert(t, s, "consumers", map[string]any{"username": schema.NewUUID()})
	}
	last += 3
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Revision != last || len(snap.Entities["consumers"]) != int(last) {
		t.Errorf("snapshot at %d with %d consumers; want %d and %d", snap.Revision, len(snap.Entities["consumers"]), last, last)
	}
	floor, err := s.Trim(ctx, 1, 0)
	if err != nil || floor != last-1 {
		t.Fatalf("Trim(keep 1) = %d, %v; want floor %d", floor, err, last-1)
	}
	if _, _, err := s.Changes(ctx, 0, 0); !errors.Is(err, store.ErrLogTrimmed) {
		t.Errorf("Changes behind the floor = %v; want ErrLogTrimmed", err)
	}
	revs, changes, err := s.Changes(ctx, last-1, 0)
	if err != nil || len(revs) != 1 || len(changes) != 1 {
		t.Errorf("Changes at the floor = %d, %d, %v; want the last revision", len(revs), len(changes), err)
	}
	cancel()
	if err := <-listening; !errors.Is(err, context.Canceled) {
		t.Errorf("Listen returned %v after cancel", err)
	}
}

func TestTTLAndExpiry(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	c := insert(t, s, "consumers", map[string]any{"username": "bob"})
	now := time.Now().Unix()
	k1 := build(t, s, "keyauth_credentials", map[string]any{"key": "short", "consumer": map[string]any{"id": c["id"]}, "expires_at": now + 1})
	k2 := build(t, s, "keyauth_credentials", map[string]any{"key": "long", "consumer": map[string]any{"id": c["id"]}, "expires_at": now + 100})
	if _, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.Insert(ctx, "keyauth_credentials", k1, store.PutOptions{}); err != nil {
			return err
		}
		return tx.Insert(ctx, "keyauth_credentials", k2, store.PutOptions{})
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "keyauth_credentials", k2["id"].(string))
	if ttl, _ := got["ttl"].(int64); err != nil || ttl < 98 || ttl > 100 {
		t.Errorf("ttl of the long credential = %v, %v; want about 100", got["ttl"], err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.Get(ctx, "keyauth_credentials", k1["id"].(string)); errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired credential still readable after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	expired, err := s.Expired(ctx, 10)
	if err != nil || len(expired) != 1 || expired[0][1] != k1["id"] {
		t.Errorf("Expired = %v, %v; want the short credential", expired, err)
	}
	snap, _ := s.Snapshot(ctx)
	if len(snap.Entities["keyauth_credentials"]) != 2 {
		t.Error("snapshots must keep expired credentials until they are deleted")
	}
}

func TestDataPlanes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	dp := store.DataPlane{
		ID: schema.NewUUID(), Hostname: "dp-1", IP: "127.0.0.1", Version: "1.0.0", SyncStatus: "normal",
		ConfigHash: "00000000000000000000000000000000", Connected: true, HubID: "hub-a", SessionID: "s1",
		Labels: map[string]string{"region": "eu"}, CertDetails: map[string]any{"expiry_timestamp": 1888983905},
	}
	if err := s.UpsertDataPlane(ctx, dp, time.Hour); err != nil {
		t.Fatal(err)
	}
	// The DP reconnects elsewhere (session s2); the old session's disconnect
	// must not mark it disconnected.
	dp.HubID, dp.SessionID = "hub-b", "s2"
	if err := s.UpsertDataPlane(ctx, dp, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDataPlaneDisconnected(ctx, dp.ID, "s1", "closed"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDataPlane(ctx, dp.ID)
	if err != nil || !got.Connected || got.HubID != "hub-b" || got.Labels["region"] != "eu" {
		t.Errorf("after a stale disconnect: %+v, %v", got, err)
	}
	if err := s.MarkDataPlaneDisconnected(ctx, dp.ID, "s2", "closed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetDataPlane(ctx, dp.ID); got.Connected || got.LastError != "closed" {
		t.Errorf("after its own session's disconnect: %+v", got)
	}
	gone := dp
	gone.ID = schema.NewUUID()
	if err := s.UpsertDataPlane(ctx, gone, -time.Second); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListDataPlanes(ctx, 10, "")
	if err != nil || len(page.Data) != 1 {
		t.Errorf("ListDataPlanes = %d rows, %v; expired rows must be hidden", len(page.Data), err)
	}
	if n, err := s.PurgeDataPlanes(ctx); err != nil || n != 1 {
		t.Errorf("PurgeDataPlanes = %d, %v; want 1", n, err)
	}
}

func TestUnavailableFailsFast(t *testing.T) {
	t.Parallel()
	s, err := store.Open(context.Background(), "postgres://postgres@127.0.0.1:1/postgres", catalog(t), store.Options{ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = s.Get(context.Background(), "services", schema.NewUUID())
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get with Postgres down = %v; want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to fail", d)
	}
}

func TestInsertAllMatchesInsert(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := context.Background()
	svc := build(t, s, "services", map[string]any{"name": "bulk", "host": "h"})
	route := build(t, s, "routes", map[string]any{"name": "r", "paths": []any{"/"}, "service": map[string]any{"id": svc["id"]}, "tags": []any{"t1"}})
	consumer := build(t, s, "consumers", map[string]any{"username": "u"})
	cred := build(t, s, "keyauth_credentials", map[string]any{
		"key": "k", "consumer": map[string]any{"id": consumer["id"]},
		"expires_at": time.Now().Unix() + 60,
	})
	rev, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		// Children before parents in the map: InsertAll orders by catalog.
		return tx.InsertAll(ctx, map[string][]map[string]any{
			"keyauth_credentials": {cred}, "routes": {route}, "services": {svc}, "consumers": {consumer},
		})
	})
	if err != nil || rev != 1 {
		t.Fatalf("InsertAll: rev %d, %v", rev, err)
	}
	if e, err := s.GetByKey(ctx, "services", "name", "bulk"); err != nil || e["id"] != svc["id"] {
		t.Errorf("unique key not indexed: %v, %v", e, err)
	}
	p, err := s.List(ctx, "routes", store.ListQuery{ParentType: "services", ParentID: svc["id"].(string), Field: "service", Tags: []string{"t1"}})
	if err != nil || len(p.Data) != 1 {
		t.Errorf("reference or tags not indexed: %d, %v", len(p.Data), err)
	}
	if got, _ := s.Get(ctx, "keyauth_credentials", cred["id"].(string)); got["ttl"] == nil {
		t.Error("expiry not stored")
	}
	_, changes, err := s.Changes(ctx, 0, 0)
	if err != nil || len(changes) != 4 || changes[0].Type != "services" {
		t.Errorf("change log: %d rows (%v), first %+v", len(changes), err, changes)
	}
	// A unique key already taken fails the whole write.
	dup := build(t, s, "services", map[string]any{"name": "bulk", "host": "h"})
	if _, err := s.Write(ctx, func(ctx context.Context, tx *store.Tx) error {
		return tx.InsertAll(ctx, map[string][]map[string]any{"services": {dup}})
	}); err == nil {
		t.Error("duplicate unique key accepted")
	}
	if n, _ := s.Count(ctx, "services"); n != 1 {
		t.Errorf("%d services after a failed bulk insert; want 1", n)
	}
}
