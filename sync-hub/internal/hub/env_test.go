package hub_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.uber.org/goleak"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/sync-hub/internal/follow"
	"gatehouse.dev/sync-hub/internal/hub"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

func TestMain(m *testing.M) {
	if os.Getenv(fleetEnv) != "" {
		os.Exit(runFleet()) //nolint:forbidigo // the benchmark's child process (see bench_test.go)
	}
	// store.Write records the trace context through the global propagator,
	// as telemetry.Setup installs it in the services.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	goleak.VerifyTestMain(m)
}

// cpVersion is the control plane's version in these tests: a minor and a
// patch above zero, so that older and newer minors and patches exist.
const cpVersion = "1.5.2"

// cpPlugins are the control plane's plugins in these tests.
var cpPlugins = []protocol.PluginInfo{
	{Name: "acl", Version: cpVersion},
	{Name: "key-auth", Version: cpVersion},
	{Name: "rate-limiting", Version: cpVersion},
}

// env is a hub on a private database, with its follower, running until
// the test ends.
type env struct {
	t        *testing.T
	dbURL    string
	st       *store.Store // the hub's store
	direct   *store.Store // writes, bypassing any proxy
	proxy    *hubtest.Proxy
	f        *follow.Follower
	h        *hub.Hub
	log      *hubtest.Log
	material *clustertls.Material
	client   *tls.Config
	stop     func()
}

type envOptions struct {
	dbURL     string // share a database (two hubs)
	viaProxy  bool
	follow    follow.Options
	hub       func(*hub.Options)
	material  *clustertls.Material
	client    *tls.Config
	beforeRun func(*env)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, dbURL: o.dbURL}
	if e.dbURL == "" {
		e.dbURL = hubtest.NewDatabase(t)
	}
	e.direct = hubtest.Open(t, e.dbURL)
	e.st = e.direct
	if o.viaProxy {
		var proxied string
		e.proxy, proxied = hubtest.ProxyURL(t, e.dbURL)
		e.st = hubtest.Open(t, proxied)
	}
	var logger *slog.Logger
	e.log, logger = hubtest.NewLog(t)
	fo := o.follow
	fo.Logger = logger
	if fo.PollInterval == 0 {
		fo.PollInterval = 100 * time.Millisecond
	}
	e.f = follow.New(e.st, fo)
	e.material, e.client = o.material, o.client
	if e.material == nil {
		e.material, _, _ = hubtest.SharedCert(t)
		e.client = e.material.ClientConfig("127.0.0.1")
	}
	opts := hub.Options{
		Addr:       "127.0.0.1:0",
		TLS:        e.material,
		Follower:   e.f,
		Store:      e.st,
		Plugins:    cpPlugins,
		Version:    cpVersion,
		HubID:      "hub-" + t.Name(),
		Logger:     logger,
		AckTimeout: 30 * time.Second,
	}
	if o.hub != nil {
		o.hub(&opts)
	}
	h, err := hub.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	if o.beforeRun != nil {
		o.beforeRun(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fDone, hDone := make(chan error, 1), make(chan error, 1)
	go func() { fDone <- e.f.Run(ctx) }()
	go func() { hDone <- e.h.Run(ctx) }()
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-hDone; err != nil {
			t.Errorf("hub Run = %v", err)
		}
		if err := <-fDone; !errors.Is(err, context.Canceled) {
			t.Errorf("follower Run = %v", err)
		}
	}
	t.Cleanup(e.stop)
	waitFor(t, "the hub to listen", func() bool { return e.h.Listening() })
	<-e.f.Ready()
	return e
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect dials a data plane that says hello.
func (e *env) connect(hello protocol.Hello) *hubtest.DP {
	e.t.Helper()
	dp, err := hubtest.Connect(ctxT(e.t), e.h.Addr(), e.client, hello)
	if err != nil {
		e.t.Fatalf("connect: %v", err)
	}
	e.t.Cleanup(func() { _ = dp.Conn.CloseNow() })
	return dp
}

// hello is a data plane at the control plane's version with its plugins.
func hello() protocol.Hello {
	return hubtest.NewHello(cpVersion, cpPlugins...)
}

// recv reads one message.
func recv(t *testing.T, dp *hubtest.DP) protocol.Message {
	t.Helper()
	msg, err := dp.Recv(ctxT(t))
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return msg
}

// latest is the database's newest revision.
func (e *env) latest() int64 {
	e.t.Helper()
	rev, err := e.direct.Latest(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// waitHub waits until the follower holds rev.
func (e *env) waitHub(rev int64) {
	e.t.Helper()
	waitFor(e.t, "the hub to reach the revision", func() bool { return e.f.Current().Revision >= rev })
}

// row waits until the data plane's row satisfies cond and returns it.
func (e *env) row(id string, cond func(store.DataPlane) bool) store.DataPlane {
	e.t.Helper()
	var dp store.DataPlane
	waitFor(e.t, "the data plane's row", func() bool {
		var err error
		dp, err = e.direct.GetDataPlane(context.Background(), id)
		return err == nil && cond(dp)
	})
	return dp
}

// storeRow is a data plane's registry row.
type storeRow = store.DataPlane

// counter reads a counter of the hub's metrics (the first series whose
// labels include all of labels).
func (e *env) counter(name string, labels ...string) float64 {
	e.t.Helper()
	families, err := e.h.Metrics().Registry.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	e.t.Fatalf("no metric %s %v", name, labels)
	return 0
}
