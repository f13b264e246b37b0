package correlationid_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/pdk/pdktest"
	"gatehouse.dev/dataplane/internal/plugins/correlationid"
)

type plugin interface {
	pdk.Accesser
	pdk.HeaderFilterer
}

func newInstance(tb testing.TB, config map[string]any) plugin {
	tb.Helper()
	in, err := correlationid.Factory{}.New(pdktest.NewConfig(tb, pdktest.NewEnv(), map[string]any{"name": "correlation-id", "config": config}))
	if err != nil {
		tb.Fatal(err)
	}
	return in.(plugin)
}

var (
	uuidRe    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	counterRe = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})#([0-9]+)$`)
	trackerRe = regexp.MustCompile(`^10\.0\.0\.1-8000-[0-9]+-7-[0-9]+-1700000000\.25$`)
)

// access runs the access phase and returns the upstream's header.
func access(t *testing.T, in plugin, ctx *pdktest.Context, header string) string {
	t.Helper()
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Exited() {
		t.Fatal("correlation-id answered the request")
	}
	return ctx.UpstreamRequest().Header(header)
}

func TestGenerators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		generator string
		re        *regexp.Regexp
	}{
		{"uuid", uuidRe},
		{"uuid#counter", counterRe},
		{"tracker", trackerRe},
	}
	for _, tt := range tests {
		t.Run(tt.generator, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, map[string]any{"generator": tt.generator})
			seen := map[string]bool{}
			for i := range 50 {
				ctx := pdktest.NewContext("GET", "http://api.example:8000/").WithStartedAt(time.Unix(1700000000, 250e6)).
					WithConnection(pdk.Connection{ServerAddr: "10.0.0.1", ServerPort: 8000, Serial: 7, Requests: uint64(i + 1)})
				id := access(t, in, ctx, "Kong-Request-ID")
				if !tt.re.MatchString(id) {
					t.Fatalf("id %q does not match %s", id, tt.re)
				}
				if seen[id] {
					t.Fatalf("id %q repeated", id)
				}
				seen[id] = true
			}
		})
	}
}

func TestCounterCountsUpOnOneUUID(t *testing.T) {
	t.Parallel()
	in := newInstance(t, map[string]any{"generator": "uuid#counter", "header_name": "X-Corr"})
	var prefix string
	last := -1
	for range 5 {
		id := access(t, in, pdktest.NewContext("GET", "/"), "X-Corr")
		m := counterRe.FindStringSubmatch(id)
		if m == nil {
			t.Fatalf("id %q", id)
		}
		n, _ := strconv.Atoi(m[2])
		if prefix != "" && (m[1] != prefix || n <= last) {
			t.Errorf("id %q after %s#%d", id, prefix, last)
		}
		prefix, last = m[1], n
	}
}

func TestIncomingIDIsKept(t *testing.T) {
	t.Parallel()
	in := newInstance(t, map[string]any{"header_name": "X-Request-Id", "echo_downstream": true})
	ctx := pdktest.NewContext("GET", "/").WithHeader("x-request-id", "client-chosen")
	if id := access(t, in, ctx, "X-Request-Id"); id != "client-chosen" {
		t.Errorf("upstream id = %q", id)
	}
	if ctx.UpstreamRequest().Headers().Values("X-Request-Id")[0] != "client-chosen" || len(ctx.UpstreamRequest().Headers().Values("X-Request-Id")) != 1 {
		t.Errorf("upstream ids = %q", ctx.UpstreamRequest().Headers().Values("X-Request-Id"))
	}
	ctx.WithResponse(200, nil, nil)
	in.HeaderFilter(ctx)
	if got := ctx.ClientResponse().Header("X-Request-Id"); got != "client-chosen" {
		t.Errorf("echoed id = %q", got)
	}
}

// TestEmptyIDIsKept: Kong generates an id only when the header is absent;
// an empty one goes upstream as it is, and is not echoed (set_header with
// "" removes the header, the service's too).
func TestEmptyIDIsKept(t *testing.T) {
	t.Parallel()
	in := newInstance(t, map[string]any{"echo_downstream": true, "generator": "uuid"})
	ctx := pdktest.NewContext("GET", "/").WithHeader("Kong-Request-ID", "")
	if err := in.Access(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ctx.UpstreamRequest().Headers().Values("Kong-Request-ID"); len(got) != 1 || got[0] != "" {
		t.Errorf("upstream ids = %q", got)
	}
	ctx.WithResponse(200, http.Header{"Kong-Request-Id": {"from-service"}}, nil)
	in.HeaderFilter(ctx)
	if got := ctx.ClientResponse().HeaderValues("Kong-Request-ID"); len(got) != 0 {
		t.Errorf("echoed %q", got)
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		echo bool
	}{{"echo_downstream", true}, {"no echo", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, map[string]any{"echo_downstream": tt.echo, "generator": "uuid"})
			ctx := pdktest.NewContext("GET", "/")
			id := access(t, in, ctx, "Kong-Request-ID")
			ctx.WithResponse(200, nil, nil)
			in.HeaderFilter(ctx)
			got := ctx.ClientResponse().Header("Kong-Request-ID")
			if tt.echo && got != id {
				t.Errorf("echoed %q, upstream got %q", got, id)
			}
			if !tt.echo && got != "" {
				t.Errorf("echoed %q without echo_downstream", got)
			}
		})
	}
}

func TestEchoWithoutAccessPhase(t *testing.T) {
	t.Parallel()
	// A request answered before the plugin's access phase still gets an
	// id in the response.
	in := newInstance(t, map[string]any{"echo_downstream": true, "generator": "uuid"})
	ctx := pdktest.NewContext("GET", "/")
	ctx.Exit(401, nil, nil)
	in.HeaderFilter(ctx)
	if got := ctx.ClientResponse().Header("Kong-Request-ID"); !uuidRe.MatchString(got) {
		t.Errorf("echoed %q", got)
	}
	ctx = pdktest.NewContext("GET", "/").WithHeader("Kong-Request-ID", "incoming")
	ctx.Exit(401, nil, nil)
	in.HeaderFilter(ctx)
	if got := ctx.ClientResponse().Header("Kong-Request-ID"); got != "incoming" {
		t.Errorf("echoed %q, want the request's", got)
	}
}

func BenchmarkAccess(b *testing.B) {
	for _, gen := range []string{"uuid", "uuid#counter"} {
		b.Run(strings.ReplaceAll(gen, "#", "-"), func(b *testing.B) {
			in := newInstance(b, map[string]any{"generator": gen})
			ctx := pdktest.NewContext("GET", "/")
			b.ReportAllocs()
			for b.Loop() {
				if err := in.Access(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTrackerTime: the time part is printed as Lua prints ngx.now().
func TestTrackerTime(t *testing.T) {
	t.Parallel()
	in := newInstance(t, map[string]any{"generator": "tracker"})
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{time.Unix(1700000000, 0), "-1700000000"},
		{time.Unix(1700000000, 5e6), "-1700000000.005"},
		{time.Unix(1700000000, 120e6), "-1700000000.12"},
	} {
		ctx := pdktest.NewContext("GET", "http://api.example:8000/").WithStartedAt(tt.at)
		if id := access(t, in, ctx, "Kong-Request-ID"); !strings.HasSuffix(id, tt.want) {
			t.Errorf("tracker id at %v = %q, want it to end in %q", tt.at, id, tt.want)
		}
	}
}
