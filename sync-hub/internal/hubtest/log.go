package hubtest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Log records log lines for assertions and shows them with -v.
type Log struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []Line
	t     testing.TB
}

// Line is one recorded line.
type Line struct {
	Level   slog.Level
	Message string
}

// NewLog returns a recorder and a logger that writes to it at debug level.
func NewLog(tb testing.TB) (*Log, *slog.Logger) {
	tb.Helper()
	l := &Log{t: tb}
	return l, slog.New(handler{l: l, h: slog.NewTextHandler(&l.buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
}

// Has reports whether a line at level contains text.
func (l *Log) Has(level slog.Level, text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range l.lines {
		if ln.Level == level && strings.Contains(ln.Message, text) {
			return true
		}
	}
	return false
}

// Count is the number of lines containing text, at any level.
func (l *Log) Count(text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ln := range l.lines {
		if strings.Contains(ln.Message, text) {
			n++
		}
	}
	return n
}

// WaitFor polls until a line at level contains text, and fails the test
// after timeout.
func (l *Log) WaitFor(level slog.Level, text string, timeout time.Duration) {
	l.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !l.Has(level, text) {
		select {
		case <-deadline.C:
			l.t.Fatalf("no %s log line containing %q; lines:\n%s", level, text, l.String())
		case <-tick.C:
		}
	}
}

// String is every line as text.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type handler struct {
	l *Log
	h slog.Handler
}

func (h handler) Enabled(context.Context, slog.Level) bool { return true }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	h.l.lines = append(h.l.lines, Line{Level: r.Level, Message: r.Message})
	return h.h.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{l: h.l, h: h.h.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{l: h.l, h: h.h.WithGroup(name)}
}
