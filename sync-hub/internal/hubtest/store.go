// Package hubtest helps sync-hub's tests and benchmarks: a migrated
// Postgres database with entities written as the Admin API writes them, a
// TCP proxy a test can cut, cluster certificates for both TLS modes, and a
// data-plane client that speaks the sync protocol over a real websocket.
package hubtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/store/storetest"
)

// Catalog returns the entity catalog with every bundled plugin.
func Catalog(tb testing.TB) *entity.Catalog {
	tb.Helper()
	set, err := plugin.Load(plugin.SpecBundled)
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := entity.New(set)
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// NewDatabase creates a migrated database for the test and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return storetest.NewMigrated(tb)
}

// Open opens a store on url, closed when the test ends.
func Open(tb testing.TB, url string) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), url, Catalog(tb), store.Options{ConnectTimeout: time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(st.Close)
	return st
}

// Build processes and validates input as the Admin API does for a new
// entity of typ, and returns the entity to store.
func Build(tb testing.TB, st *store.Store, typ string, input map[string]any) map[string]any {
	tb.Helper()
	e, verr := st.Catalog().Type(typ).Write(input, schema.Insert, time.Now())
	if verr != nil {
		tb.Fatalf("invalid %s %v: %s", typ, input, verr.Message)
	}
	return e
}

// Insert builds and inserts one entity in its own revision, and returns the
// entity and the revision.
func Insert(tb testing.TB, st *store.Store, typ string, input map[string]any) (map[string]any, int64) {
	tb.Helper()
	e := Build(tb, st, typ, input)
	rev, err := st.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.Insert(ctx, typ, e, store.PutOptions{})
	})
	if err != nil {
		tb.Fatalf("insert %s: %v", typ, err)
	}
	return e, rev
}

// InsertMany inserts the entities built from inputs in one revision.
func InsertMany(tb testing.TB, st *store.Store, typ string, inputs []map[string]any) int64 {
	tb.Helper()
	entities := make([]map[string]any, len(inputs))
	for i, in := range inputs {
		entities[i] = Build(tb, st, typ, in)
	}
	rev, err := st.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		for _, e := range entities {
			if err := tx.Insert(ctx, typ, e, store.PutOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("insert %d %s: %v", len(inputs), typ, err)
	}
	return rev
}

// Upsert replaces an entity (as PUT does) in its own revision.
func Upsert(tb testing.TB, st *store.Store, typ string, input map[string]any) (map[string]any, int64) {
	tb.Helper()
	e, verr := st.Catalog().Type(typ).Write(input, schema.Upsert, time.Now())
	if verr != nil {
		tb.Fatalf("invalid %s %v: %s", typ, input, verr.Message)
	}
	rev, err := st.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		return tx.Upsert(ctx, typ, e, store.PutOptions{})
	})
	if err != nil {
		tb.Fatalf("upsert %s: %v", typ, err)
	}
	return e, rev
}

// Delete deletes an entity (and what cascades) in its own revision.
func Delete(tb testing.TB, st *store.Store, typ, id string) int64 {
	tb.Helper()
	rev, err := st.Write(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		ok, err := tx.Delete(ctx, typ, id)
		if err == nil && !ok {
			err = fmt.Errorf("%s %s not found", typ, id)
		}
		return err
	})
	if err != nil {
		tb.Fatalf("delete %s %s: %v", typ, id, err)
	}
	return rev
}

// Service inserts a service called name.
func Service(tb testing.TB, st *store.Store, name string) (map[string]any, int64) {
	tb.Helper()
	return Insert(tb, st, "services", map[string]any{"name": name, "host": name + ".example.com"})
}

// Plugin inserts a global plugin instance with the given config.
func Plugin(tb testing.TB, st *store.Store, name string, config map[string]any) (map[string]any, int64) {
	tb.Helper()
	in := map[string]any{"name": name}
	if config != nil {
		in["config"] = config
	}
	return Insert(tb, st, "plugins", in)
}

// Services inserts n services named prefix-0 ... prefix-(n-1) in batches of
// one revision each, and returns the last revision.
func Services(tb testing.TB, st *store.Store, prefix string, n int) int64 {
	tb.Helper()
	const batch = 1000
	var rev int64
	for start := 0; start < n; start += batch {
		var inputs []map[string]any
		for i := start; i < min(start+batch, n); i++ {
			name := fmt.Sprintf("%s-%d", prefix, i)
			inputs = append(inputs, map[string]any{"name": name, "host": name + ".example.com"})
		}
		rev = InsertMany(tb, st, "services", inputs)
	}
	return rev
}
