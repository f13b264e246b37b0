package router

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestMatchAllocations(t *testing.T) {
	routes := benchRoutes(1000)
	r, err := Compile(routes, benchServices())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    *Request
		route  string // the name the request must match, "" for none
		allocs float64
	}{
		{"host and prefix", &Request{Method: "GET", Host: "h3.example.com", Path: "/svc3/items/3"}, "host-3", 0},
		{"host case and port", &Request{Method: "GET", Host: "H3.Example.com:8000", Path: "/svc3/v2/x"}, "host-3", 0},
		{"wildcard host", &Request{Method: "GET", Host: "a.w4.example.net", Path: "/wild4/x"}, "wild-4", 0},
		{"prefix only", &Request{Method: "GET", Host: "nowhere", Path: "/p15/orders"}, "prefix-15", 0},
		{"method", &Request{Method: "POST", Host: "nowhere", Path: "/m27/submit"}, "method-27", 0},
		{"header", &Request{Method: "GET", Host: "nowhere", Path: "/hd38/x", Headers: http.Header{"X-Version": {"V2"}}}, "header-38", 0},
		{"regex without groups, no strip", &Request{Method: "GET", Host: "nowhere", Path: "/plain29/a.css"}, "plainre-29", 0},
		{"no match", &Request{Method: "GET", Host: "h3.example.com", Path: "/nothing/here"}, "", 0},
		{"regex with groups", &Request{Method: "GET", Host: "nowhere", Path: "/re19/users/42"}, "regex-19", 1},
	}
	for _, tt := range tests {
		if got := matchName(r, tt.req); got != tt.route {
			t.Errorf("%s: matched %q, want %q", tt.name, got, tt.route)
			continue
		}
		buf := make([]byte, 0, 256)
		allocs := testing.AllocsPerRun(200, func() {
			if m, ok := r.Match(tt.req); ok {
				buf = m.AppendUpstreamPath(buf[:0])
			}
		})
		if allocs != tt.allocs {
			t.Errorf("%s: %v allocations per match, want %v", tt.name, allocs, tt.allocs)
		}
	}
}

// benchServices returns the services benchRoutes refers to.
func benchServices() []map[string]any {
	svcs := make([]map[string]any, 10)
	for i := range svcs {
		svcs[i] = map[string]any{
			"id": fmt.Sprintf("10000000-0000-4000-8000-%012d", i), "name": fmt.Sprint("svc", i),
			"protocol": "http", "host": fmt.Sprintf("up%d.internal", i), "port": int64(8080), "path": "/api", "enabled": true,
		}
	}
	return svcs
}

// benchRoutes returns n routes in a realistic mix: most with a host and a
// prefix path, then prefix-only routes, method routes, wildcard hosts,
// header routes and regex paths (with and without groups). Route i of a
// kind is named "<kind>-<i>" and matches the request benchRequests makes
// for it.
func benchRoutes(n int) []map[string]any {
	routes := make([]map[string]any, 0, n)
	for i := range n {
		rec := map[string]any{
			"id":         fmt.Sprintf("%08x-0000-4000-8000-%012d", uint32(i)*2654435761, i), // scattered, unique
			"protocols":  []any{"http", "https"},
			"strip_path": true,
			"service":    map[string]any{"id": fmt.Sprintf("10000000-0000-4000-8000-%012d", i%10)},
		}
		switch k := i % 10; {
		case k < 4:
			rec["name"] = fmt.Sprint("host-", i)
			rec["hosts"] = []any{fmt.Sprintf("h%d.example.com", i)}
			rec["paths"] = []any{fmt.Sprintf("/svc%d", i), fmt.Sprintf("/svc%d/v2", i)}
		case k == 4:
			rec["name"] = fmt.Sprint("wild-", i)
			rec["hosts"] = []any{fmt.Sprintf("*.w%d.example.net", i)}
			rec["paths"] = []any{fmt.Sprintf("/wild%d", i)}
		case k < 7:
			rec["name"] = fmt.Sprint("prefix-", i)
			rec["paths"] = []any{fmt.Sprintf("/p%d/", i)}
		case k == 7:
			rec["name"] = fmt.Sprint("method-", i)
			rec["methods"] = []any{"POST", "PUT"}
			rec["paths"] = []any{fmt.Sprintf("/m%d", i)}
		case k == 8:
			rec["name"] = fmt.Sprint("header-", i)
			rec["headers"] = map[string]any{"X-Version": []any{"v2", "v3"}}
			rec["paths"] = []any{fmt.Sprintf("/hd%d", i)}
		case i%20 == 9:
			rec["name"] = fmt.Sprint("plainre-", i)
			rec["paths"] = []any{fmt.Sprintf(`~/plain%d/[a-z]+\.css$`, i)}
			rec["strip_path"] = false
		default:
			rec["name"] = fmt.Sprint("regex-", i)
			rec["paths"] = []any{fmt.Sprintf(`~/re%d/users/(?<id>\d+)$`, i)}
		}
		routes = append(routes, rec)
	}
	return routes
}

// benchRequests returns one matching request per route of benchRoutes(n),
// shuffled.
func benchRequests(n int) []*Request {
	reqs := make([]*Request, 0, n)
	h := http.Header{"X-Version": {"v3"}, "Accept": {"*/*"}, "User-Agent": {"bench"}}
	for i := range n {
		req := &Request{Method: "GET", Host: "gw.example.org", Port: 8000, Headers: h}
		switch k := i % 10; {
		case k < 4:
			req.Host, req.Path = fmt.Sprintf("h%d.example.com", i), fmt.Sprintf("/svc%d/v2/items/17", i)
		case k == 4:
			req.Host, req.Path = fmt.Sprintf("api.w%d.example.net", i), fmt.Sprintf("/wild%d/x", i)
		case k < 7:
			req.Path = fmt.Sprintf("/p%d/orders/9", i)
		case k == 7:
			req.Method, req.Path = "POST", fmt.Sprintf("/m%d/submit", i)
		case k == 8:
			req.Path = fmt.Sprintf("/hd%d/x", i)
		case i%20 == 9:
			req.Path = fmt.Sprintf("/plain%d/site.css", i)
		default:
			req.Path = fmt.Sprintf("/re%d/users/42", i)
		}
		reqs = append(reqs, req)
	}
	// A fixed permutation: stride through the list with a step prime to n.
	out := make([]*Request, n)
	step := 7919
	for gcd(step, n) != 1 {
		step++
	}
	for i := range n {
		out[i] = reqs[i*step%n]
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint("routes=", n), func(b *testing.B) {
			r, err := Compile(benchRoutes(n), benchServices())
			if err != nil {
				b.Fatal(err)
			}
			reqs := benchRequests(n)
			for _, req := range reqs {
				if _, ok := r.Match(req); !ok {
					b.Fatalf("no match for %+v", req)
				}
			}
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			cpu, ok := threadCPU()
			i := 0
			for b.Loop() {
				m, _ := r.Match(reqs[i%len(reqs)])
				buf = m.AppendUpstreamPath(buf[:0])
				i++
			}
			reportCPU(b, cpu, ok)
		})
	}
}

// BenchmarkMatchMiss measures a request no route matches (a 404).
func BenchmarkMatchMiss(b *testing.B) {
	r, err := Compile(benchRoutes(10000), benchServices())
	if err != nil {
		b.Fatal(err)
	}
	req := &Request{Method: "GET", Host: "h3.example.com", Path: "/nothing/here"}
	b.ReportAllocs()
	cpu, ok := threadCPU()
	for b.Loop() {
		r.Match(req)
	}
	reportCPU(b, cpu, ok)
}

// reportCPU reports the CPU time per operation of the benchmark's thread
// (cpu-ns/op): on a shared machine wall time (ns/op) also counts the time
// the thread waited for a CPU.
func reportCPU(b *testing.B, cpu func() time.Duration, ok bool) {
	b.Helper()
	used := cpu()
	if ok {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkCompile(b *testing.B) {
	routes, services := benchRoutes(10000), benchServices()
	b.ReportAllocs()
	cpu, ok := threadCPU()
	start := time.Now()
	for b.Loop() {
		if _, err := Compile(routes, services); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/build")
	if used := cpu(); ok {
		// Compile's own CPU; the garbage collector runs on other threads.
		b.ReportMetric(float64(used.Milliseconds())/float64(b.N), "cpu-ms/build")
	}
}
