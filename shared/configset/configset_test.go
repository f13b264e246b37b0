package configset_test

import (
	"fmt"
	"sync"
	"testing"

	"gatehouse.dev/shared/confighash"
	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
)

func svc(id, host string) map[string]any {
	return map[string]any{"id": id, "host": host, "port": int64(80), "path": nil}
}

func TestHashMatchesFromScratch(t *testing.T) {
	t.Parallel()
	s := configset.New()
	if s.Hash() != confighash.Empty {
		t.Errorf("empty set hash %s", s.Hash())
	}
	for i := range 50 {
		if err := s.Put("services", svc(fmt.Sprintf("id-%02d", i), "h")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("services", svc("id-07", "changed")); err != nil {
		t.Fatal(err)
	}
	s.Delete("services", "id-08")
	want, err := confighash.Compute(s.Entities())
	if err != nil {
		t.Fatal(err)
	}
	if s.Hash() != want || s.Len() != 49 {
		t.Errorf("hash %s len %d; want %s and 49", s.Hash(), s.Len(), want)
	}
	back, err := configset.FromEntities(3, s.Entities())
	if err != nil || back.Hash() != want || back.Revision != 3 {
		t.Errorf("FromEntities: %v %v", back, err)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	orig, err := configset.FromEntities(1, protocol.Entities{
		"services": {svc("a", "h1"), svc("b", "h2")},
		"routes":   {{"id": "r", "paths": []any{"/"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := orig.Hash()
	c := orig.Clone()
	c.Revision = 2
	if err := c.Apply([]protocol.Change{
		{Op: protocol.OpUpsert, Type: "services", ID: "c", Entity: svc("c", "h3")},
		{Op: protocol.OpDelete, Type: "services", ID: "a"},
		{Op: protocol.OpDelete, Type: "routes", ID: "r"},
	}); err != nil {
		t.Fatal(err)
	}
	if orig.Hash() != before || orig.Len() != 3 || orig.Revision != 1 {
		t.Errorf("the original changed: hash %s len %d", orig.Hash(), orig.Len())
	}
	if _, ok := orig.Get("services", "c"); ok {
		t.Error("original sees the clone's insert")
	}
	if c.Len() != 2 || len(c.Types()) != 1 {
		t.Errorf("clone len %d types %v", c.Len(), c.Types())
	}
	// A clone of the clone does not see later writes to its clone either.
	cc := c.Clone()
	if err := c.Clone().Put("services", svc("z", "h")); err != nil {
		t.Fatal(err)
	}
	if _, ok := cc.Get("services", "z"); ok {
		t.Error("a sibling clone sees another clone's insert")
	}
}

func TestWritingAClonedSetPanics(t *testing.T) {
	t.Parallel()
	s := configset.New()
	_ = s.Clone()
	defer func() {
		if recover() == nil {
			t.Error("writing to a cloned Set did not panic")
		}
	}()
	_ = s.Put("services", svc("a", "h"))
}

func TestConcurrentClonesOfOneSet(t *testing.T) {
	t.Parallel()
	base, err := configset.FromEntities(1, protocol.Entities{"services": {svc("a", "h")}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c := base.Clone()
			if err := c.Put("services", svc(fmt.Sprint("n", i), "h")); err != nil {
				t.Error(err)
			}
			if c.Len() != 2 {
				t.Errorf("clone %d has %d entities", i, c.Len())
			}
		})
	}
	wg.Wait()
	if base.Len() != 1 {
		t.Errorf("base changed: %d entities", base.Len())
	}
}

func TestApplyErrors(t *testing.T) {
	t.Parallel()
	s := configset.New()
	if err := s.Apply([]protocol.Change{{Op: protocol.OpUpsert, Type: "services", ID: "a", Entity: svc("b", "h")}}); err == nil {
		t.Error("mismatched id accepted")
	}
	if err := s.Apply([]protocol.Change{{Op: "bogus", Type: "services", ID: "a"}}); err == nil {
		t.Error("unknown op accepted")
	}
	if _, err := configset.FromEntities(0, protocol.Entities{"services": {svc("a", "h"), svc("a", "h")}}); err == nil {
		t.Error("duplicate ids accepted")
	}
	if err := s.Put("services", map[string]any{"host": "h"}); err == nil {
		t.Error("entity without id accepted")
	}
}

func BenchmarkCloneAndApplyOne(b *testing.B) {
	for _, n := range []int{1000, 10000, 30000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			ents := protocol.Entities{}
			for i := range n {
				ents["routes"] = append(ents["routes"], map[string]any{"id": fmt.Sprintf("r-%06d", i), "paths": []any{fmt.Sprintf("/p%d", i)}})
			}
			s, err := configset.FromEntities(1, ents)
			if err != nil {
				b.Fatal(err)
			}
			change := []protocol.Change{{
				Op: protocol.OpUpsert, Type: "routes", ID: "r-000001",
				Entity: map[string]any{"id": "r-000001", "paths": []any{"/new"}},
			}}
			b.ReportAllocs()
			for b.Loop() {
				c := s.Clone()
				if err := c.Apply(change); err != nil {
					b.Fatal(err)
				}
				_ = c.Hash()
			}
		})
	}
}
