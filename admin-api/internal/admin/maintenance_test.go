package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/store/storetest"
)

func newService(t *testing.T, onCommit func(int64)) (*Service, *store.Store) {
	t.Helper()
	plugins, err := plugin.Load("bundled")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := entity.New(plugins)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), storetest.NewMigrated(t), cat, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(st, plugins, Options{Logger: log, OnCommit: onCommit}), st
}

// TestMaintainTrims checks that a maintenance pass trims the change log
// to the revisions it keeps: readers behind the floor need a snapshot.
func TestMaintainTrims(t *testing.T) {
	t.Parallel()
	var committed atomic.Int64
	svc, st := newService(t, func(rev int64) { committed.Store(rev) })
	ctx := context.Background()
	consumers := svc.Catalog().Type(entity.Consumers)
	for i := range 5 {
		if _, err := svc.Create(ctx, consumers, Scope{}, Input{Fields: map[string]any{"username": fmt.Sprint("u", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if committed.Load() != 5 {
		t.Errorf("OnCommit saw revision %d, want 5", committed.Load())
	}
	res, err := svc.Maintain(ctx, MaintenanceOptions{KeepRevisions: 2})
	if err != nil || res.Floor != 3 || res.Expired != 0 {
		t.Fatalf("Maintain = %+v, %v; want floor 3", res, err)
	}
	if _, _, err := st.Changes(ctx, 2, 0); !errors.Is(err, store.ErrLogTrimmed) {
		t.Errorf("Changes after 2: %v, want ErrLogTrimmed", err)
	}
	if revs, _, err := st.Changes(ctx, 3, 0); err != nil || len(revs) != 2 {
		t.Errorf("Changes after 3: %d revisions, %v", len(revs), err)
	}
	// By age: everything older than now except the newest revision.
	res, err = svc.Maintain(ctx, MaintenanceOptions{MaxAge: time.Nanosecond})
	if err != nil || res.Floor != 4 {
		t.Errorf("Maintain by age = %+v, %v; want floor 4", res, err)
	}
}

// TestRunMaintenance checks that the background job runs at once, again
// at each tick, and stops with its context.
func TestRunMaintenance(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	passes := make(chan MaintenanceResult, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunMaintenance(ctx, 10*time.Millisecond, MaintenanceOptions{KeepRevisions: 10}, func(res MaintenanceResult, err error) {
			if err == nil {
				select {
				case passes <- res:
				default:
				}
			}
		})
	}()
	for range 2 {
		select {
		case <-passes:
		case <-time.After(10 * time.Second):
			t.Fatal("no maintenance pass")
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RunMaintenance did not stop")
	}
}
