package idle

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatAndBusy(t *testing.T) {
	t.Parallel()
	a, err := parseStat("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3\n")
	if err != nil {
		t.Fatal(err)
	}
	if a.total != 1000 || a.idle != 800 {
		t.Fatalf("parsed %+v, want total 1000 idle 800", a)
	}
	b, err := parseStat("cpu  400 0 100 1000 100 0 0 0 0 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := busy(a, b); got != 0.5 { // 300 of 600 ticks busy
		t.Errorf("busy = %v, want 0.5", got)
	}
	if _, err := parseStat("intr 1 2 3\n"); err == nil {
		t.Error("no cpu line: no error")
	}
}

func TestWaitReturnsWithinTheCap(t *testing.T) {
	t.Parallel()
	// A threshold of -1 is never met: Wait must give up at the cap.
	o, err := Wait(t.Context(), -1, 50*time.Millisecond, 120*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if o.Idle || o.Waited < 120*time.Millisecond || o.Waited > 2*time.Second {
		t.Errorf("got %+v, want not idle after about 120ms", o)
	}
	// A threshold of 1 is always met: the first window returns.
	o, err = Wait(t.Context(), 1, 50*time.Millisecond, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Idle || !strings.Contains(o.Line(), "idle=true") {
		t.Errorf("got %+v (%s), want idle at once", o, o.Line())
	}
}
