package chain

import (
	"slices"
	"sort"
	"testing"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/entity"
)

func TestOrderIsPriorityThenNameDescending(t *testing.T) {
	t.Parallel()
	got := order(map[string]int{"acl": 950, "zipkin": 100000, "b-auth": 1100, "a-auth": 1100, "post": -1000, "c-auth": 1100})
	want := []string{"zipkin", "c-auth", "b-auth", "a-auth", "acl", "post"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
}

func types(s typeSet) []string {
	out := make([]string, 0, len(s))
	for t := range s {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// TestEnvRecordsNestedReads checks that an Index build that uses another
// Index value (built before, by another instance) depends on what that
// value read, and so do the instances that use it.
func TestEnvRecordsNestedReads(t *testing.T) {
	t.Parallel()
	set := configset.New()
	if err := set.Put(entity.Consumers, map[string]any{"id": "c1", "username": "alice"}); err != nil {
		t.Fatal(err)
	}
	opts := &Options{}
	rt := newRuntimeEnv(set, &gateway.Shared{}, opts, nil, nil)
	first := newEnv(rt)
	if _, ok := first.Consumer("alice"); !ok {
		t.Fatal("alice not found")
	}
	first.seal()
	second := newEnv(rt)
	second.Index("creds", func() any {
		second.Each(entity.KeyAuthCredentials, func(map[string]any) {})
		_, _ = second.Consumer("c1")
		return 1
	})
	second.seal()
	want := []string{entity.ConsumerGroupConsumers, entity.ConsumerGroups, entity.Consumers, entity.KeyAuthCredentials}
	if got := types(rt.index["creds"].deps); !slices.Equal(got, want) || !rt.index["creds"].known.Load() {
		t.Errorf("index deps = %q (known %v), want %q", got, rt.index["creds"].known.Load(), want)
	}
	if got := types(second.deps); !slices.Equal(got, want) || second.unknown {
		t.Errorf("instance deps = %q (unknown %v), want %q", got, second.unknown, want)
	}
	// Carried over unless one of its types changed.
	next := newRuntimeEnv(set, &gateway.Shared{}, opts, rt, typeSet{entity.Routes: {}})
	if next.index["creds"] == nil || next.index[consumersKey] == nil {
		t.Error("index values not carried over a route change")
	}
	next = newRuntimeEnv(set, &gateway.Shared{}, opts, rt, typeSet{entity.ConsumerGroups: {}})
	if next.index["creds"] != nil || next.index[consumersKey] != nil {
		t.Error("index values carried over a consumer group change")
	}
	// A value built after New (not recorded) makes its users unknown.
	late := newEnv(next)
	late.seal()
	late.Index("late", func() any { return 2 })
	user := newEnv(next)
	user.Index("late", func() any { return 3 })
	if !user.unknown {
		t.Error("an instance using an unrecorded value can be kept")
	}
}
