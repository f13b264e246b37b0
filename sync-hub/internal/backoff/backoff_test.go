package backoff_test

import (
	"testing"
	"time"

	"gatehouse.dev/sync-hub/internal/backoff"
)

func TestNext(t *testing.T) {
	t.Parallel()
	b := backoff.New(100*time.Millisecond, time.Second)
	wantMax := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range wantMax {
		w *= time.Millisecond
		got := b.Next()
		if got < w/2 || got > w {
			t.Errorf("attempt %d: %v, want within [%v, %v]", i, got, w/2, w)
		}
	}
	b.Reset()
	if got := b.Next(); got > 100*time.Millisecond {
		t.Errorf("after Reset: %v, want at most 100ms", got)
	}
}
