package e2etest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Line is one line a process wrote.
type Line struct {
	// Stream is "stdout" or "stderr".
	Stream string
	// Text is the line without its newline.
	Text string
	// Time is when the harness read it.
	Time time.Time
}

// Entry decodes Text as one of the services' JSON log lines: "msg", "level"
// and the other attributes. ok is false for a line that is not JSON.
func (l Line) Entry() (entry map[string]any, ok bool) {
	if !strings.HasPrefix(l.Text, "{") {
		return nil, false
	}
	if err := json.Unmarshal([]byte(l.Text), &entry); err != nil {
		return nil, false
	}
	return entry, true
}

// Msg is the "msg" of a JSON log line, or the whole text of another line.
func (l Line) Msg() string {
	if e, ok := l.Entry(); ok {
		if m, ok := e["msg"].(string); ok {
			return m
		}
	}
	return l.Text
}

// Level is the "level" of a JSON log line ("INFO", "WARN", "ERROR",
// "DEBUG", or slog's "INFO+2" for notice), or "" for another line.
func (l Line) Level() string {
	if e, ok := l.Entry(); ok {
		s, _ := e["level"].(string)
		return s
	}
	return ""
}

// Log is everything a process wrote on stdout and stderr, across its
// restarts, in the order the harness read it. Its methods are safe for
// concurrent use.
type Log struct {
	name string

	mu    sync.Mutex
	lines []Line
}

func newLog(name string) *Log { return &Log{name: name} }

// add appends a line.
func (l *Log) add(stream, text string) {
	l.mu.Lock()
	l.lines = append(l.lines, Line{Stream: stream, Text: text, Time: time.Now()})
	l.mu.Unlock()
}

// Note writes a line of the harness's own into the log (a restart, a cut
// link), so that a failure's log reads in order.
func (l *Log) Note(format string, args ...any) {
	l.add("harness", "--- "+fmt.Sprintf(format, args...))
}

// Mark returns a position in the log: Since(mark) returns what was written
// after it.
func (l *Log) Mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// Lines returns every line so far.
func (l *Log) Lines() []Line { return l.Since(0) }

// Since returns the lines written after mark (see [Log.Mark]).
func (l *Log) Since(mark int) []Line {
	l.mu.Lock()
	defer l.mu.Unlock()
	if mark > len(l.lines) {
		mark = len(l.lines)
	}
	return append([]Line(nil), l.lines[mark:]...)
}

// Find returns the lines after mark whose text contains substr.
func (l *Log) Find(mark int, substr string) []Line {
	var out []Line
	for _, line := range l.Since(mark) {
		if strings.Contains(line.Text, substr) {
			out = append(out, line)
		}
	}
	return out
}

// Contains reports whether any line contains substr.
func (l *Log) Contains(substr string) bool { return len(l.Find(0, substr)) > 0 }

// WaitFor waits until a line written after mark contains substr, and
// returns the first such line; it fails tb after timeout (scaled).
func (l *Log) WaitFor(tb testing.TB, mark int, substr string, timeout time.Duration) Line {
	tb.Helper()
	var found Line
	Eventually(tb, timeout, fmt.Sprintf("%s logs %q", l.name, substr), func() error {
		lines := l.Find(mark, substr)
		if len(lines) == 0 {
			return fmt.Errorf("not logged yet (%d lines so far)", len(l.Since(mark)))
		}
		found = lines[0]
		return nil
	})
	return found
}

// Tail returns the last n lines as text, for failure reports.
func (l *Log) Tail(n int) string {
	lines := l.Lines()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, line := range lines {
		fmt.Fprintf(&b, "%s %s| %s\n", line.Time.Format("15:04:05.000"), line.Stream[:3], line.Text)
	}
	return b.String()
}

// String returns the whole log as text.
func (l *Log) String() string { return l.Tail(1 << 30) }
