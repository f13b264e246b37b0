package router

import (
	"net/http"
	"strings"
	"testing"

	"gatehouse.dev/shared/schema"
)

func TestPriority(t *testing.T) {
	t.Parallel()
	req := func(host, path string, h http.Header) *Request {
		return &Request{Method: "GET", Host: host, Port: 8000, Path: path, Headers: h}
	}
	hdr := http.Header{"X-A": {"1"}, "X-B": {"1"}}
	tests := []struct {
		name   string
		routes []rt
		req    *Request
		want   string
	}{
		{
			"more criteria beat fewer",
			[]rt{
				{"name": "path", "paths": []any{"/foo/bar/baz"}},
				{"name": "method-path", "paths": []any{"/foo"}, "methods": []any{"GET"}},
			},
			req("x", "/foo/bar/baz", nil), "method-path",
		},
		{
			"plain host beats a long path with equal criteria",
			[]rt{
				{"name": "path", "paths": []any{"/a/very/long/path"}},
				{"name": "host", "hosts": []any{"example.com"}},
			},
			req("example.com", "/a/very/long/path", nil), "host",
		},
		{
			"plain hosts beat wildcards",
			[]rt{
				{"name": "wildcard", "hosts": []any{"*.example.com"}},
				{"name": "plain", "hosts": []any{"a.example.com"}},
			},
			req("a.example.com", "/", nil), "plain",
		},
		{
			"one wildcard makes hosts not plain",
			[]rt{
				{"name": "plain", "hosts": []any{"a.example.com"}, "id": id(1)},
				{"name": "mixed", "hosts": []any{"a.example.com", "*.other.com"}, "id": id(2)},
			},
			req("a.example.com", "/", nil), "plain",
		},
		{
			"more headers beat fewer",
			[]rt{
				{"name": "one", "headers": map[string]any{"X-A": []any{"1"}}, "paths": []any{"/foo/bar"}},
				{"name": "two", "headers": map[string]any{"X-A": []any{"1"}, "X-B": []any{"1"}}, "paths": []any{"/"}},
			},
			req("x", "/foo/bar", hdr), "two",
		},
		{
			"any regex beats any prefix",
			[]rt{
				{"name": "prefix", "paths": []any{"/foo/bar/baz/and/more"}},
				{"name": "regex", "paths": []any{`~/foo`}},
			},
			req("x", "/foo/bar/baz/and/more", nil), "regex",
		},
		{
			"higher regex_priority wins",
			[]rt{
				{"name": "high", "paths": []any{`~/fo+`}, "regex_priority": 5, "id": id(1)},
				{"name": "low", "paths": []any{`~/foo`}, "regex_priority": 0, "id": id(2)},
			},
			req("x", "/foo", nil), "high",
		},
		{
			"negative regex_priority below zero",
			[]rt{
				{"name": "zero", "paths": []any{`~/foo`}, "id": id(1)},
				{"name": "negative", "paths": []any{`~/fo+`}, "regex_priority": -1, "id": id(2)},
			},
			req("x", "/foo", nil), "zero",
		},
		{
			"regex_priority does not count for prefixes",
			[]rt{
				{"name": "short", "paths": []any{"/foo"}, "regex_priority": 100},
				{"name": "long", "paths": []any{"/foo/bar"}},
			},
			req("x", "/foo/bar", nil), "long",
		},
		{
			"longer prefix wins",
			[]rt{
				{"name": "short", "paths": []any{"/foo"}, "id": id(2)},
				{"name": "long", "paths": []any{"/foo/"}, "id": id(1)},
			},
			req("x", "/foo/x", nil), "long",
		},
		{
			"criteria count before plain hosts",
			[]rt{
				{"name": "plain-host", "hosts": []any{"a.example.com"}},
				{"name": "wildcard-method", "hosts": []any{"*.example.com"}, "methods": []any{"GET"}},
			},
			req("a.example.com", "/", nil), "wildcard-method",
		},
		{
			"equal priorities: greater id wins",
			[]rt{
				{"name": "a", "paths": []any{"/foo"}, "id": "00000000-0000-4000-8000-000000000001"},
				{"name": "b", "paths": []any{"/foo"}, "id": "ffffffff-0000-4000-8000-000000000000"},
				{"name": "c", "paths": []any{"/foo"}, "id": "80000000-0000-4000-8000-000000000000"},
			},
			req("x", "/foo", nil), "b",
		},
		{
			"split route: its regex group beats a longer prefix",
			[]rt{
				{"name": "split", "paths": []any{"/a", `~/a/b`}},
				{"name": "prefix", "paths": []any{"/a/b/c"}},
			},
			req("x", "/a/b/c", nil), "split",
		},
		{
			"split route: each prefix length has its own priority (long group)",
			[]rt{
				{"name": "split", "paths": []any{"/a", "/abc/def"}},
				{"name": "mid", "paths": []any{"/abc"}},
			},
			req("x", "/abc/def/g", nil), "split",
		},
		{
			"split route: each prefix length has its own priority (short group)",
			[]rt{
				{"name": "split", "paths": []any{"/a", "/abc/def"}},
				{"name": "mid", "paths": []any{"/abc"}},
			},
			req("x", "/abc/x", nil), "mid",
		},
		{
			"same-length prefixes stay one entry",
			[]rt{
				{"name": "pair", "paths": []any{"/aa", "/bb"}, "id": id(1)},
				{"name": "single", "paths": []any{"/bb"}, "id": id(2)},
			},
			req("x", "/bb", nil), "single",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := build(t, nil, tt.routes...)
			if got := matchName(r, tt.req); got != tt.want {
				t.Errorf("matched %q, want %q", got, tt.want)
			}
			// The order of the input must not matter.
			rev := make([]rt, len(tt.routes))
			for i, route := range tt.routes {
				rev[len(rev)-1-i] = route
				if route["id"] == nil {
					route["id"] = id(i + 1)
				}
			}
			if got := matchName(build(t, nil, rev...), tt.req); got != tt.want {
				t.Errorf("with routes reversed: matched %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSplitIDsBreakTies checks that the entries of a split route take part
// in the tie-break with Kong's derived ids, not the route's own id.
func TestSplitIDsBreakTies(t *testing.T) {
	t.Parallel()
	const splitID = "ffffffff-ffff-4fff-bfff-ffffffffffff" // greatest possible id
	prefixEntry := schema.UUIDv5(splitNamespace, splitID+"#1")
	for _, otherID := range []string{"00000000-0000-4000-8000-000000000000", "fffffffe-ffff-4fff-bfff-ffffffffffff"} {
		r := build(t, nil,
			rt{"name": "split", "id": splitID, "paths": []any{"/same", `~/x`}},
			rt{"name": "other", "id": otherID, "paths": []any{"/same"}},
		)
		want := "other"
		if prefixEntry > otherID {
			want = "split"
		}
		if got := matchName(r, &Request{Path: "/same"}); got != want {
			t.Errorf("other id %s, split entry id %s: matched %q, want %q", otherID, prefixEntry, got, want)
		}
	}
}

func TestPriorityBits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fields routeFields
		paths  []string
		want   uint64
	}{
		{"nothing", routeFields{}, nil, 0},
		{"prefix length", routeFields{}, []string{"/abcd"}, 1<<61 | 5},
		{"methods hosts", routeFields{methods: []string{"GET"}, hosts: []hostMatcher{{value: "a"}}, plainHosts: true}, nil, 2<<61 | 1<<60},
		{"empty hosts array is plain", routeFields{plainHosts: true}, nil, 1 << 60},
		{"headers", routeFields{headers: make([]headerMatcher, 3)}, nil, 1<<61 | 3<<52},
		{"headers capped", routeFields{headers: make([]headerMatcher, 300)}, nil, 1<<61 | 255<<52},
		{"snis", routeFields{snis: []hostMatcher{{value: "a"}}}, nil, 1 << 61},
		{"regex", routeFields{regexPrio: 3}, []string{`~/a`}, 1<<61 | 1<<51 | (1<<31+3)<<19},
		{"regex negative", routeFields{regexPrio: -2}, []string{`~/a`}, 1<<61 | 1<<51 | (1<<31-2)<<19},
		{"regex_priority only for regex", routeFields{regexPrio: 3}, []string{"/a"}, 1<<61 | 2},
		{"prefix length masked", routeFields{}, []string{"/" + strings.Repeat("a", 0x80000)}, 1<<61 | 1},
		{"five criteria", routeFields{
			methods: []string{"GET"}, hosts: []hostMatcher{{value: "a"}}, headers: make([]headerMatcher, 1),
			snis: []hostMatcher{{value: "a"}},
		}, []string{"/"}, 5<<61 | 1<<52 | 1},
	}
	for _, tt := range tests {
		if got := priority(&tt.fields, tt.paths); got != tt.want {
			t.Errorf("%s: priority = %#x, want %#x", tt.name, got, tt.want)
		}
	}
}
