package lkg

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/goleak"

	"gatehouse.dev/dataplane/internal/fixture"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	fixtureOnce sync.Once
	fixtureSet  protocol.Entities
)

// entities returns a small realistic configuration, shared by the tests
// (which must not modify it).
func entities() protocol.Entities {
	fixtureOnce.Do(func() { fixtureSet = fixture.Entities(fixture.Catalog(), 60) })
	return fixtureSet
}

func sampleSet(t *testing.T, rev int64) *configset.Set {
	t.Helper()
	set, err := configset.FromEntities(rev, entities())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// logBuffer collects log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func open(t *testing.T, dir string, key []byte) (*Store, *logBuffer) {
	t.Helper()
	var logs logBuffer
	s, err := Open(t.Context(), dir, Options{Key: key, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, &logs
}

func mustClose(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEmptyCacheHoldsNothing(t *testing.T) {
	t.Parallel()
	s, _ := open(t, filepath.Join(t.TempDir(), "cache"), nil)
	defer mustClose(t, s)
	if _, _, ok := s.Load(); ok {
		t.Fatal("a new cache holds a configuration")
	}
	if aside, _ := s.SetAside(); aside != "" {
		t.Fatalf("a new cache was set aside to %s", aside)
	}
}

func TestSnapshotAndDeltasSurviveReopen(t *testing.T) {
	t.Parallel()
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "clear", true: "encrypted"}[encrypted], func(t *testing.T) {
			t.Parallel()
			var key []byte
			if encrypted {
				key = newKey(t)
			}
			dir := filepath.Join(t.TempDir(), "cache")
			s, _ := open(t, dir, key)
			set := sampleSet(t, 7)
			if err := s.SaveSnapshot(t.Context(), set, "0123456789abcdef0123456789abcdef"); err != nil {
				t.Fatal(err)
			}
			// A delta: change one service, delete a route, add a consumer.
			next := set.Clone()
			svc := fixture.Wire(set.List("services")[0])
			svc["name"] = "renamed"
			route := set.List("routes")[0]["id"].(string)
			consumer := fixture.Wire(map[string]any{"id": fixture.ID("consumer", 999), "username": "new"})
			changes := []protocol.Change{
				{Op: protocol.OpUpsert, Type: "services", ID: svc["id"].(string), Entity: svc},
				{Op: protocol.OpDelete, Type: "routes", ID: route},
				{Op: protocol.OpUpsert, Type: "consumers", ID: consumer["id"].(string), Entity: consumer},
			}
			if err := next.Apply(changes); err != nil {
				t.Fatal(err)
			}
			next.Revision = 8
			if err := s.SaveDelta(t.Context(), changes, 8, "fedcba9876543210fedcba9876543210", next.Hash()); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)

			s, logs := open(t, dir, key)
			defer mustClose(t, s)
			got, meta, ok := s.Load()
			if !ok {
				t.Fatalf("nothing loaded; logs: %s", logs)
			}
			if got.Hash() != next.Hash() || got.Revision != 8 || got.Len() != next.Len() {
				t.Errorf("loaded rev %d hash %s len %d, want rev 8 hash %s len %d", got.Revision, got.Hash(), got.Len(), next.Hash(), next.Len())
			}
			if meta.ConfigHash != "fedcba9876543210fedcba9876543210" || meta.Digest != next.Hash() || meta.Revision != 8 {
				t.Errorf("meta = %+v", meta)
			}
			if e, _ := got.Get("services", svc["id"].(string)); e["name"] != "renamed" {
				t.Errorf("service after delta = %v", e)
			}
			if _, _, again := s.Load(); again {
				t.Error("Load returned the configuration twice")
			}
		})
	}
}

func TestSnapshotReplacesEverything(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	s, _ := open(t, dir, nil)
	if err := s.SaveSnapshot(t.Context(), sampleSet(t, 1), "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	small, err := configset.FromEntities(2, protocol.Entities{"services": {entities()["services"][0]}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(t.Context(), small, small.Hash()); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	s, _ = open(t, dir, nil)
	defer mustClose(t, s)
	got, _, ok := s.Load()
	if !ok || got.Len() != 1 || got.Hash() != small.Hash() {
		t.Fatalf("after a second snapshot loaded %v entities", got.Len())
	}
}

// damage opens the pebble database under dir directly and lets fn change
// it behind the store's back.
func damage(t *testing.T, dir string, fn func(db *pebble.DB)) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// truncate compacts the database so the entities live in an sstable, then
// cuts every file whose name contains part in half.
func truncate(t *testing.T, dir, part string) {
	t.Helper()
	damage(t, dir, func(db *pebble.DB) {
		if err := db.Compact(context.Background(), []byte("a"), []byte("z"), true); err != nil {
			t.Fatal(err)
		}
	})
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, f := range files {
		if strings.Contains(f.Name(), part) {
			p := filepath.Join(dir, f.Name())
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, info.Size()/2); err != nil {
				t.Fatal(err)
			}
			cut++
		}
	}
	if cut == 0 {
		t.Fatalf("no %s file to truncate", part)
	}
}

func TestDamagedCacheIsSetAside(t *testing.T) {
	t.Parallel()
	serviceKey := func() []byte {
		return entityKey("services", entities()["services"][0]["id"].(string))
	}
	tests := []struct {
		name   string
		key    []byte // the store's key when opening after the damage
		harm   func(t *testing.T, dir string)
		reason string
	}{
		{
			name: "value that does not decode",
			harm: func(t *testing.T, dir string) {
				t.Helper()
				damage(t, dir, func(db *pebble.DB) { _ = db.Set(serviceKey(), []byte{tagObject, 9, tagString}, pebble.Sync) })
			},
			reason: "corrupt value",
		},
		{
			name: "value changed but valid",
			harm: func(t *testing.T, dir string) {
				t.Helper()
				e := fixture.Wire(entities()["services"][0])
				e["name"] = "tampered"
				data, _ := encodeValue(nil, e)
				damage(t, dir, func(db *pebble.DB) { _ = db.Set(serviceKey(), data, pebble.Sync) })
			},
			reason: "digest mismatch",
		},
		{
			name: "stored digest changed",
			harm: func(t *testing.T, dir string) {
				t.Helper()
				damage(t, dir, func(db *pebble.DB) {
					v, c, err := db.Get(keyMeta)
					if err != nil {
						t.Fatal(err)
					}
					var m Meta
					if err := json.Unmarshal(v, &m); err != nil {
						t.Fatal(err)
					}
					_ = c.Close()
					m.Digest = "ffffffffffffffffffffffffffffffff"
					data, _ := json.Marshal(m)
					_ = db.Set(keyMeta, data, pebble.Sync)
				})
			},
			reason: "digest mismatch",
		},
		{
			name: "entity stored under another id",
			harm: func(t *testing.T, dir string) {
				t.Helper()
				damage(t, dir, func(db *pebble.DB) {
					v, c, _ := db.Get(serviceKey())
					_ = db.Set(entityKey("services", "other-id"), bytes.Clone(v), pebble.Sync)
					_ = c.Close()
				})
			},
			reason: "stored under another id",
		},
		{
			name:   "truncated sstable",
			harm:   func(t *testing.T, dir string) { t.Helper(); truncate(t, dir, ".sst") },
			reason: "pebble",
		},
		{
			name: "truncated manifest",
			harm: func(t *testing.T, dir string) { t.Helper(); truncate(t, dir, "MANIFEST-") },
			// Cut in half, the manifest ends before all of its edits or
			// inside one: Pebble then opens an empty database, which the
			// cache's marker file shows to be a loss, or refuses a file
			// the remaining edits still name.
			reason: "lost its contents|pebble: .*unknown to the objstorage provider",
		},
		{
			name: "opened without its key",
			harm: func(*testing.T, string) {},
			// the cache below is written encrypted, and opened without one
			reason: "no key is configured",
		},
		{
			name:   "opened with another key",
			key:    []byte("another key of exactly 32 bytes!"),
			harm:   func(*testing.T, string) {},
			reason: "another key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "cache")
			var writeKey []byte
			if strings.Contains(tt.name, "key") {
				writeKey = newKey(t)
			}
			s, _ := open(t, dir, writeKey)
			if err := s.SaveSnapshot(t.Context(), sampleSet(t, 3), "0123456789abcdef0123456789abcdef"); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)
			tt.harm(t, dir)

			s, logs := open(t, dir, tt.key)
			defer mustClose(t, s)
			if set, _, ok := s.Load(); ok {
				t.Fatalf("a damaged cache was served (%d entities)", set.Len())
			}
			aside, reason := s.SetAside()
			if aside == "" || !strings.HasPrefix(aside, dir+".damaged-") {
				t.Fatalf("set aside to %q", aside)
			}
			if reason == nil || !regexp.MustCompile(tt.reason).MatchString(reason.Error()) {
				t.Errorf("reason = %v, want it to match %q", reason, tt.reason)
			}
			if _, err := os.Stat(aside); err != nil {
				t.Errorf("the damaged cache is not kept: %v", err)
			}
			if line := logs.String(); !strings.Contains(line, "is damaged and will not be served") || !strings.Contains(line, aside) {
				t.Errorf("log = %s", line)
			}
			// The fresh cache works.
			if err := s.SaveSnapshot(t.Context(), sampleSet(t, 4), "0123456789abcdef0123456789abcdef"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExportMakesAStartingPoint(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	root := t.TempDir()
	s, _ := open(t, filepath.Join(root, "a", "cache"), key)
	set := sampleSet(t, 12)
	if err := s.SaveSnapshot(t.Context(), set, "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(root, "export")
	if err := s.Export(t.Context(), export); err != nil {
		t.Fatal(err)
	}
	if err := s.Export(t.Context(), export); err == nil {
		t.Error("Export overwrote an existing directory")
	}
	mustClose(t, s)

	// A new data plane's prefix gets the copy as its cache.
	newCache := filepath.Join(root, "b", "cache")
	if err := os.MkdirAll(filepath.Dir(newCache), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(export, newCache); err != nil {
		t.Fatal(err)
	}
	s2, logs := open(t, newCache, key)
	defer mustClose(t, s2)
	got, meta, ok := s2.Load()
	if !ok || got.Hash() != set.Hash() || meta.Revision != 12 {
		t.Fatalf("exported cache loaded ok=%v; logs %s", ok, logs)
	}
}

func TestCacheInUse(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	s, _ := open(t, dir, nil)
	defer mustClose(t, s)
	_, err := Open(t.Context(), dir, Options{})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
	if _, serr := os.Stat(dir); serr != nil {
		t.Fatalf("a cache in use was moved: %v", serr)
	}
}

func TestReadKeyFile(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		wantErr bool
	}{
		{"raw", key, false},
		{"hex", []byte(hex.EncodeToString(key)), false},
		{"hex newline", []byte(hex.EncodeToString(key) + "\n"), false},
		{"base64", []byte(base64.StdEncoding.EncodeToString(key)), false},
		{"base64 crlf", []byte(base64.StdEncoding.EncodeToString(key) + "\r\n"), false},
		{"short", []byte("short"), true},
		{"bad hex", []byte(strings.Repeat("zz", 32)), true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(dir, "k"+strconv.Itoa(i))
			if err := os.WriteFile(p, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadKeyFile(p)
			if tt.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				if strings.Contains(err.Error(), string(tt.content)) {
					t.Errorf("error shows the file's content: %v", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("got %x, %v", got, err)
			}
		})
	}
	if _, err := ReadKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file was accepted")
	}
}
