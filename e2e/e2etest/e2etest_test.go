package e2etest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"gatehouse.dev/e2e/e2etest"
)

// echoServer accepts connections and echoes what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string) error {
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return errors.New("echoed " + string(buf))
	}
	return nil
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTCPProxyCutAndRestore(t *testing.T) {
	t.Parallel()
	p := e2etest.NewTCPProxy(t, echoServer(t))
	open := dial(t, p.Addr())
	if err := roundTrip(open, "before"); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	if err := roundTrip(open, "during"); err == nil {
		t.Error("an open connection still works after Cut")
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	if c, err := d.DialContext(t.Context(), "tcp", p.Addr()); err == nil {
		if err := roundTrip(c, "during"); err == nil {
			t.Error("a new connection works while cut")
		}
		_ = c.Close()
	}
	p.Restore()
	if err := roundTrip(dial(t, p.Addr()), "after"); err != nil {
		t.Errorf("after Restore: %v", err)
	}
	if p.Accepted() != 3 {
		t.Errorf("accepted %d connections, want 3", p.Accepted())
	}
}

func TestConnected(t *testing.T) {
	t.Parallel()
	span := func(id, parent string) e2etest.Span { return e2etest.Span{SpanID: id, ParentSpanID: parent} }
	tests := []struct {
		name     string
		spans    []e2etest.Span
		external string
		ok       bool
	}{
		{"one tree", []e2etest.Span{span("a", ""), span("b", "a"), span("c", "b")}, "", true},
		{"root under a caller", []e2etest.Span{span("a", "x"), span("b", "a")}, "x", true},
		{"two roots", []e2etest.Span{span("a", ""), span("b", "")}, "", false},
		{"orphan", []e2etest.Span{span("a", ""), span("b", "missing")}, "", false},
		{"no spans", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := e2etest.Connected(tt.spans, tt.external); (err == nil) != tt.ok {
				t.Errorf("Connected = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestOTLPReceiverDecodes(t *testing.T) {
	t.Parallel()
	r := e2etest.NewOTLPReceiver(t)
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{
			Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "svc"}},
		}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8), ParentSpanId: bytes.Repeat([]byte{3}, 8),
			Name: "GET /x", Kind: tracepb.Span_SPAN_KIND_SERVER,
			Attributes: []*commonpb.KeyValue{{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}}},
		}}}},
	}}}
	data, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, gz := range []bool{false, true} {
		body := data
		if gz {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			_, _ = w.Write(data)
			_ = w.Close()
			body = b.Bytes()
		}
		hr, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, r.Endpoint()+"/v1/traces", bytes.NewReader(body))
		hr.Header.Set("Content-Type", "application/x-protobuf")
		if gz {
			hr.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export (gzip %v): %d", gz, resp.StatusCode)
		}
	}
	spans := r.Trace(strings.Repeat("01", 16))
	if len(spans) != 2 {
		t.Fatalf("received %d spans, want 2", len(spans))
	}
	s := spans[0]
	if s.Service != "svc" || s.Name != "GET /x" || s.SpanID != strings.Repeat("02", 8) ||
		s.ParentSpanID != strings.Repeat("03", 8) || s.Kind != "SPAN_KIND_SERVER" || s.Attributes["n"] != "7" {
		t.Errorf("span = %+v", s)
	}
}

func TestLogLines(t *testing.T) {
	t.Parallel()
	r := e2etest.RunCommand(t, e2etest.ProcessSpec{Name: "sh", Bin: "/bin/sh", Args: []string{
		"-c",
		`printf '{"level":"WARN","msg":"careful"}\npartial'; printf 'oops\n' >&2; exit 3`,
	}}, 10*time.Second)
	if r.ExitCode != 3 || !strings.Contains(r.Stdout, "partial") || r.Stderr != "oops\n" {
		t.Errorf("RunCommand = %+v", r)
	}
	p := e2etest.StartProcess(t, e2etest.ProcessSpec{Name: "sh", Bin: "/bin/sh", Args: []string{
		"-c",
		`printf '{"level":"WARN","msg":"careful"}\npartial'`,
	}})
	if code := p.Wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := p.Log().Find(0, "")
	if len(lines) < 2 || lines[0].Msg() != "careful" || lines[0].Level() != "WARN" || lines[1].Text != "partial" {
		t.Errorf("lines = %+v", lines)
	}
	mark := p.Log().Mark()
	p.Start(t)
	p.Log().WaitFor(t, mark, "partial", 10*time.Second)
}

func TestRedis(t *testing.T) {
	t.Parallel()
	r := e2etest.StartRedis(t)
	ctx := t.Context()
	if _, err := e2etest.RedisCommand(ctx, r.Addr(), "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := e2etest.RedisCommand(ctx, r.Addr(), "GET", "k"); err != nil || v != "v" {
		t.Errorf("GET k = %q, %v", v, err)
	}
	r.Stop(t)
	if _, err := e2etest.RedisCommand(ctx, r.Addr(), "PING"); err == nil {
		t.Error("a stopped Redis answers")
	}
	r.StartAgain(t)
	if v, err := e2etest.RedisCommand(ctx, r.Addr(), "GET", "k"); err != nil || v != "" {
		t.Errorf("a restarted Redis kept k = %q (%v); it keeps nothing", v, err)
	}
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	since := time.Now()
	ready := since.Add(30 * time.Millisecond)
	took := e2etest.Measure(t, since, 5*time.Second, "conditions",
		func() error { return nil },
		func() error {
			if time.Now().Before(ready) {
				return errors.New("not yet")
			}
			return nil
		})
	if took[0] >= took[1] || took[1] < 30*time.Millisecond {
		t.Errorf("took = %v", took)
	}
}
