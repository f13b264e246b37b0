package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

// The data-plane fleet of the benchmark runs in a child process (this test
// binary, started with fleetEnv set), so that the benchmark's heap is the
// hub's alone.
const fleetEnv = "GATEHOUSE_BENCH_FLEET"

// BenchmarkFleet measures, for configurations of 1k, 10k and 30k entities
// and fleets of 100 and 1000 simulated data planes (real TLS websockets, in
// a child process) connected to an in-process hub on the local Postgres:
// the time from a one-entity change's commit to the last data plane's
// acknowledgement (each iteration is one change), the bytes of the delta
// each data plane gets, and the hub's memory per connected data plane.
//
//	go test -run '^$' -bench BenchmarkFleet -benchtime 20x ./internal/hub/
func BenchmarkFleet(b *testing.B) {
	for _, size := range []int{1_000, 10_000, 30_000} {
		b.Run(fmt.Sprintf("entities=%d", size), func(b *testing.B) {
			dbURL := hubtest.NewDatabase(b)
			st := hubtest.Open(b, dbURL)
			hubtest.Services(b, st, "svc", size)
			for _, n := range []int{100, 1000} {
				b.Run(fmt.Sprintf("dps=%d", n), func(b *testing.B) { benchFleet(b, dbURL, n) })
			}
		})
	}
}

// acks records when each revision was acknowledged by how many data planes.
type acks struct {
	mu   sync.Mutex
	n    map[int64]int
	last map[int64]time.Time
	all  chan int64 // a revision every data plane acknowledged
	want int
}

func (a *acks) record(_ string, rev int64) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n[rev]++
	a.last[rev] = now
	if a.n[rev] == a.want {
		a.all <- rev
	}
}

func benchFleet(b *testing.B, dbURL string, n int) {
	b.Helper()
	material, certPath, keyPath := hubtest.SharedCert(b)
	rec := &acks{n: map[int64]int{}, last: map[int64]time.Time{}, all: make(chan int64, 1), want: n}
	e := newBenchEnv(b, dbURL, material, rec.record)
	st := e.f.Current()

	before := heap()
	fleet := startFleet(b, e.h.Addr(), certPath, keyPath, n, st.Revision, st.Hash)
	deadline := time.Now().Add(2 * time.Minute)
	for len(e.h.DataPlanes()) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d data planes connected", len(e.h.DataPlanes()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := heap()
	perDP := float64(after-before) / float64(n)

	svc, err := e.direct.GetByKey(context.Background(), "services", "name", "svc-0")
	if err != nil {
		b.Fatal(err)
	}
	bytesBefore := sentBytes(b, e.h, protocol.TypeDelta)
	hubCPU := cpuTime()
	var lat, ingest []time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		_, rev := hubtest.Upsert(b, e.direct, "services", map[string]any{
			"id": svc["id"], "name": "svc-0", "host": fmt.Sprintf("changed-%d.example.com", i),
		})
		committed := time.Now()
		for cur := e.f.Current(); cur.Revision < rev; cur = e.f.Current() {
			<-cur.Superseded()
		}
		ingest = append(ingest, time.Since(committed))
		select {
		case got := <-rec.all:
			if got != rev {
				b.Fatalf("revision %d acknowledged by all, want %d", got, rev)
			}
		case <-time.After(time.Minute):
			b.Fatalf("revision %d: %d of %d acknowledgements", rev, rec.count(rev), n)
		}
		lat = append(lat, rec.lastAck(rev).Sub(committed))
	}
	hubCPU = (cpuTime() - hubCPU) / time.Duration(len(lat))
	fleetCPU := fleet.stop(b) / time.Duration(len(lat))
	deltaBytes := float64(sentBytes(b, e.h, protocol.TypeDelta)-bytesBefore) / float64(len(lat)*n)
	slices.Sort(lat)
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	slices.Sort(ingest)
	b.ReportMetric(float64(percentile(ingest, 50).Microseconds())/1000, "ingest-p50-ms")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(deltaBytes, "delta-bytes/dp")
	b.ReportMetric(perDP/1024, "hub-KiB/dp")
	b.ReportMetric(float64(hubCPU.Microseconds())/1000, "hub-cpu-ms/change")
	b.ReportMetric(float64(fleetCPU.Microseconds())/1000, "fleet-cpu-ms/change")
	b.Logf("%d entities, %d data planes, %d changes: commit to last ack p50 %v p99 %v max %v (commit to the hub's new state p50 %v); "+
		"delta %.0f bytes per data plane; hub memory %.1f KiB per data plane; CPU per change: hub %v, data planes %v",
		st.Set.Len(), n, len(lat), p50, p99, lat[len(lat)-1], percentile(ingest, 50), deltaBytes, perDP/1024, hubCPU, fleetCPU)
}

func (a *acks) count(rev int64) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[rev]
}

func (a *acks) lastAck(rev int64) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last[rev]
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// heap is the memory in use by the heap and goroutine stacks, after a GC.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func sentBytes(b *testing.B, h *hub.Hub, t protocol.Type) int64 {
	b.Helper()
	families, err := h.Metrics().Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "gatehouse_sync_hub_sent_bytes_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "type" && l.GetValue() == string(t) {
					return int64(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

// benchEnv is a hub and its follower on a database.
type benchEnv struct {
	direct *store.Store
	f      *follow.Follower
	h      *hub.Hub
}

func newFollower(st *store.Store, logger *slog.Logger) *follow.Follower {
	return follow.New(st, follow.Options{PollInterval: time.Second, Logger: logger})
}

// newBenchEnv runs a hub on dbURL, quiet, for a benchmark.
func newBenchEnv(b *testing.B, dbURL string, material *clustertls.Material, onAck func(string, int64)) *benchEnv {
	b.Helper()
	e := &benchEnv{direct: hubtest.Open(b, dbURL)}
	_, logger := hubtest.NewLog(b)
	e.f = newFollower(e.direct, logger)
	h, err := hub.New(hub.Options{
		Addr: "127.0.0.1:0", TLS: material, Follower: e.f, Store: e.direct, Plugins: cpPlugins, Version: cpVersion,
		HubID: "bench", Logger: logger, OnAck: onAck, PingTimeout: 10 * time.Minute, AckTimeout: 5 * time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	e.h = h
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.f.Run(ctx) })
	wg.Go(func() { _ = e.h.Run(ctx) })
	b.Cleanup(func() { cancel(); wg.Wait() })
	<-e.f.Ready()
	for !e.h.Listening() {
		time.Sleep(time.Millisecond)
	}
	return e
}

// fleet is the child process.
type fleet struct {
	cmd     *exec.Cmd
	stdin   io.Closer
	stdout  *bufio.Reader
	readyAt time.Duration // its CPU time once connected
	stopped bool
}

// stop ends the child and returns the CPU time it used since it was ready.
func (f *fleet) stop(b *testing.B) time.Duration {
	b.Helper()
	f.stopped = true
	_ = f.stdin.Close()
	line, err := f.stdout.ReadString('\n')
	if err != nil {
		b.Fatalf("fleet: %v", err)
	}
	if err := f.cmd.Wait(); err != nil {
		b.Fatalf("fleet: %v", err)
	}
	return parseCPU(b, line, "done ") - f.readyAt
}

func parseCPU(b *testing.B, line, prefix string) time.Duration {
	b.Helper()
	ns, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(line, prefix), "\n"), 10, 64)
	if err != nil || !strings.HasPrefix(line, prefix) {
		b.Fatalf("fleet: %q", line)
	}
	return time.Duration(ns)
}

// cpuTime is the CPU time this process used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startFleet starts the child process with n data planes that hold
// revision rev (hash hash) and waits until they are connected.
func startFleet(b *testing.B, addr, cert, key string, n int, rev int64, hash string) *fleet {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), exe, "-test.run=^$") //nolint:gosec // this test binary
	cmd.Env = append(os.Environ(),
		fleetEnv+"=1", "FLEET_ADDR="+addr, "FLEET_CERT="+cert, "FLEET_KEY="+key,
		"FLEET_N="+strconv.Itoa(n), "FLEET_REV="+strconv.FormatInt(rev, 10), "FLEET_HASH="+hash)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	f := &fleet{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	b.Cleanup(func() {
		if !f.stopped {
			_ = stdin.Close()
			_ = cmd.Wait()
		}
	})
	line, err := f.stdout.ReadString('\n')
	if err != nil {
		b.Fatalf("fleet: %q, %v", line, err)
	}
	f.readyAt = parseCPU(b, line, "ready ")
	return f
}

// runFleet is the child process: n data planes that acknowledge whatever
// they receive without applying it, until stdin closes.
func runFleet() int {
	n, _ := strconv.Atoi(os.Getenv("FLEET_N"))
	rev, _ := strconv.ParseInt(os.Getenv("FLEET_REV"), 10, 64)
	m, err := clustertls.Load(clustertls.Config{Cert: os.Getenv("FLEET_CERT"), Key: os.Getenv("FLEET_KEY")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		return 1
	}
	cfg := m.ClientConfig("127.0.0.1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	connected := make(chan error, n)
	sem := make(chan struct{}, 32) // concurrent handshakes
	for range n {
		h := hubtest.NewHello(cpVersion, cpPlugins...)
		h.Revision, h.ConfigHash = rev, os.Getenv("FLEET_HASH")
		wg.Go(func() {
			sem <- struct{}{}
			conn, _, err := hubtest.Dial(ctx, os.Getenv("FLEET_ADDR"), cfg, false)
			if err == nil {
				err = write(ctx, conn, &h)
			}
			<-sem
			connected <- err
			if err != nil {
				return
			}
			defer func() { _ = conn.CloseNow() }()
			serveFleetDP(ctx, conn)
		})
	}
	for range n {
		if err := <-connected; err != nil {
			fmt.Fprintln(os.Stderr, "fleet: connect:", err)
			return 1
		}
	}
	fmt.Println("ready", int64(cpuTime()))
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Println("done", int64(cpuTime()))
	cancel()
	wg.Wait()
	return 0
}

func serveFleetDP(ctx context.Context, conn *websocket.Conn) {
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		msg, err := protocol.Decode(data, 0)
		if err != nil {
			return
		}
		var ack *protocol.Ack
		switch m := msg.(type) {
		case *protocol.Delta:
			ack = &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}
		case *protocol.Snapshot:
			ack = &protocol.Ack{Revision: m.Revision, ConfigHash: m.ConfigHash, Digest: m.Digest}
		default:
			continue
		}
		if err := write(ctx, conn, ack); err != nil {
			return
		}
	}
}

func write(ctx context.Context, conn *websocket.Conn, msg protocol.Message) error {
	frame, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	return conn.Write(ctx, websocket.MessageBinary, frame)
}
