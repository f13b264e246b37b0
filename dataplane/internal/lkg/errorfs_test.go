package lkg

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestUnreadableCacheIsSetAside injects read errors into the sstables of a
// cache on an in-memory filesystem: the store must not serve it, and must
// move it aside and start empty.
func TestUnreadableCacheIsSetAside(t *testing.T) {
	t.Parallel()
	mem := vfs.NewMem()
	var failReads atomic.Bool
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if failReads.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsRead && strings.HasSuffix(op.Path, ".sst") {
			return errorfs.ErrInjected
		}
		return nil
	}))
	s, err := Open(t.Context(), "cache", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(t.Context(), sampleSet(t, 5), "0123456789abcdef0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	// Move everything to an sstable.
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	failReads.Store(true)
	s, err = Open(t.Context(), "cache", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if _, _, ok := s.Load(); ok {
		t.Fatal("an unreadable cache was served")
	}
	aside, reason := s.SetAside()
	if !strings.HasPrefix(aside, "cache.damaged-") || reason == nil || !strings.Contains(reason.Error(), "injected error") {
		t.Fatalf("set aside to %q because %v", aside, reason)
	}
	if _, err := mem.Stat(aside); err != nil {
		t.Errorf("the damaged cache is gone: %v", err)
	}
}
