package router

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestIndexCollect checks the radix tree against brute force: for every
// path, the collected ordinals are exactly those whose keys are prefixes
// of the path, each list ascending.
func TestIndexCollect(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11)) //nolint:gosec // G404: a reproducible test input, not a secret
	word := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) + 1 {
			b.WriteByte("/ab."[rng.IntN(4)])
		}
		return b.String()
	}
	keys := []string{"", "/"}
	for range 2000 {
		keys = append(keys, word(8))
	}
	b := newIndexBuilder()
	for ord, k := range keys {
		// Some entries carry a second key, as a route with two paths does.
		e := &entry{keys: []string{k}}
		if ord%5 == 0 {
			e.keys = append(e.keys, keys[ord/2])
		}
		b.add(e, int32(ord))
	}
	x := b.freeze()
	for range 3000 {
		path := word(12)
		var got []int32
		for _, l := range x.collect("", path, nil) {
			if !slices.IsSorted(l) {
				t.Fatalf("list %v not ascending", l)
			}
			got = append(got, l...)
		}
		slices.Sort(got)
		got = slices.Compact(got)
		var want []int32
		for ord, k := range keys {
			if strings.HasPrefix(path, k) || ord%5 == 0 && strings.HasPrefix(path, keys[ord/2]) {
				want = append(want, int32(ord))
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("path %q: collected %v, want %v", path, got, want)
		}
	}
}

// TestIndexHostBuckets checks which buckets a host looks in.
func TestIndexHostBuckets(t *testing.T) {
	t.Parallel()
	b := newIndexBuilder()
	hosts := []string{"a.example.com", "*.example.com", "*.a.example.com", "a.*", "a.example.*", "*", "x.com:8080"}
	for ord, h := range hosts {
		b.add(&entry{hosts: []hostMatcher{hostValue(h)}, keys: []string{""}}, int32(ord))
	}
	b.add(&entry{keys: []string{"/"}}, 7) // no hosts: always a candidate
	x := b.freeze()
	tests := map[string][]int32{
		"a.example.com":   {0, 1, 3, 4, 5, 7},
		"A.Example.COM":   {0, 1, 3, 4, 5, 7},
		"b.a.example.com": {1, 2, 5, 7},
		"example.com":     {5, 7},
		"a.b":             {3, 5, 7},
		"x.com":           {5, 6, 7},
		"":                {5, 7},
	}
	for host, want := range tests {
		var got []int32
		for _, l := range x.collect(host, "/", nil) {
			got = append(got, l...)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("host %q: candidates %v, want %v", host, got, want)
		}
	}
}
