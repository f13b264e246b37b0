package statusapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	statusapi "gatehouse.dev/status-api"
)

// page is a paginated answer, with the presence of "offset" kept.
type page struct {
	Data []struct {
		ID     string `json:"id"`
		Health string `json:"health"`
	} `json:"data"`
	Offset *string `json:"offset"`
	Next   *string `json:"next"`
}

func getPage(t *testing.T, h http.Handler, target string) page {
	t.Helper()
	rec := do(t, h, http.MethodGet, target, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", target, rec.Code, rec.Body)
	}
	var p page
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return p
}

// TestPagination walks every collection page by page through the next
// links and checks the pages add up to the whole list, in order, with
// "offset" present exactly when a next page is.
func TestPagination(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	// A larger upstream: 23 targets, some inactive (weight 0) and some
	// superseded by a newer entry.
	big := statusapi.Upstream{ID: upstreamID(7), Name: "big-upstream", Healthchecks: true, Healthy: true}
	for i := range 23 {
		weight := 10
		if i%7 == 3 {
			weight = 0
		}
		big.Targets = append(big.Targets, statusapi.Target{
			ID: targetID(700 + i), CreatedAt: 1700000700 + float64(i), Target: fmt.Sprintf("10.7.0.%d:80", i%20), Weight: weight,
			Balancer: resolved("A", addr(fmt.Sprintf("10.7.0.%d", i%20), 80, weight, i%2 == 0)),
		})
	}
	src.update(func(f *fakeSource) { f.upstreams = append(f.upstreams, big) })
	h := statusapi.Handler(src, statusapi.Options{NodeID: fixtureNodeID})

	for _, key := range []string{"big-upstream", upstreamID(7), "service-a", "many-upstream"} {
		for _, path := range []string{"targets", "targets/all", "health"} {
			full := getPage(t, h, "/upstreams/"+key+"/"+path+"?size=1000")
			if full.Next != nil || full.Offset != nil {
				t.Fatalf("%s %s: one page of 1000 has a next page", key, path)
			}
			for _, size := range []int{1, 2, 3, 7, 100} {
				t.Run(fmt.Sprintf("%s/%s/size=%d", key, path, size), func(t *testing.T) {
					t.Parallel()
					var ids []string
					target := fmt.Sprintf("/upstreams/%s/%s?size=%d", key, path, size)
					for pages := 0; ; pages++ {
						if pages > len(full.Data) {
							t.Fatal("next links do not end")
						}
						p := getPage(t, h, target)
						if len(p.Data) > size {
							t.Fatalf("%s: %d entries, want at most %d", target, len(p.Data), size)
						}
						for _, d := range p.Data {
							ids = append(ids, d.ID)
						}
						if (p.Next == nil) != (p.Offset == nil) {
							t.Fatalf("%s: next %v with offset %v", target, p.Next, p.Offset)
						}
						if p.Next == nil {
							break
						}
						wantPrefix := "/upstreams/" + key + "/" + path + "?offset="
						if !strings.HasPrefix(*p.Next, wantPrefix) || *p.Next != wantPrefix+*p.Offset {
							t.Fatalf("%s: next = %q, offset %q", target, *p.Next, *p.Offset)
						}
						// Kong's next link carries no size; keep the
						// requested one to walk in pages of size.
						target = *p.Next + fmt.Sprintf("&size=%d", size)
					}
					var want []string
					for _, d := range full.Data {
						want = append(want, d.ID)
					}
					if !slices.Equal(ids, want) {
						t.Errorf("pages give %v, want %v", ids, want)
					}
				})
			}
		}
	}

	// The active list of big-upstream: the newest entry of each of the 20
	// target strings, without those whose newest entry has weight 0.
	active := getPage(t, h, "/upstreams/big-upstream/targets?size=1000")
	all := getPage(t, h, "/upstreams/big-upstream/targets/all?size=1000")
	if len(all.Data) != 23 {
		t.Errorf("targets/all lists %d, want 23", len(all.Data))
	}
	var wantActive []string
	seen := map[int]bool{}
	for i := 22; i >= 0; i-- {
		if seen[i%20] {
			continue
		}
		seen[i%20] = true
		if i%7 != 3 {
			wantActive = append(wantActive, targetID(700+i))
		}
	}
	var gotActive []string
	for _, d := range active.Data {
		gotActive = append(gotActive, d.ID)
	}
	if !slices.Equal(gotActive, wantActive) {
		t.Errorf("targets = %v, want %v", gotActive, wantActive)
	}
}

// TestHealthFollowsTheChecker checks /health shows each change of the
// balancer's view: a target going down and coming back, a name that
// stops resolving, health checks switched off.
func TestHealthFollowsTheChecker(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	h := statusapi.Handler(src, statusapi.Options{NodeID: fixtureNodeID})
	healthOf := func(id string) string {
		t.Helper()
		for _, d := range getPage(t, h, "/upstreams/service-a/health").Data {
			if d.ID == id {
				return d.Health
			}
		}
		t.Fatalf("target %s not in /health", id)
		return ""
	}
	setAddress := func(target string, fn func(*statusapi.Target)) {
		src.update(func(f *fakeSource) {
			ts := slices.Clone(f.upstreams[0].Targets)
			for i := range ts {
				if ts[i].Target == target {
					fn(&ts[i])
				}
			}
			f.upstreams = slices.Clone(f.upstreams)
			f.upstreams[0].Targets = ts
		})
	}
	id := targetID(101)
	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"up", func() {}, "HEALTHY"},
		{"down", func() {
			setAddress("10.0.0.1:80", func(t *statusapi.Target) { t.Balancer = resolved("A", addr("10.0.0.1", 80, 100, false)) })
		}, "UNHEALTHY"},
		{"back", func() {
			setAddress("10.0.0.1:80", func(t *statusapi.Target) { t.Balancer = resolved("A", addr("10.0.0.1", 80, 100, true)) })
		}, "HEALTHY"},
		{"unresolved", func() {
			setAddress("10.0.0.1:80", func(t *statusapi.Target) { t.Balancer = resolved("dns server error: 2 server failure") })
		}, "DNS_ERROR"},
		{"no balancer entry", func() {
			setAddress("10.0.0.1:80", func(t *statusapi.Target) { t.Balancer = nil })
		}, "DNS_ERROR"},
		{"resolved but checks off", func() {
			setAddress("10.0.0.1:80", func(t *statusapi.Target) { t.Balancer = resolved("A", addr("10.0.0.1", 80, 100, false)) })
			src.update(func(f *fakeSource) {
				f.upstreams = slices.Clone(f.upstreams)
				f.upstreams[0].Healthchecks = false
			})
		}, "HEALTHCHECKS_OFF"},
	}
	for _, s := range steps {
		s.change()
		if got := healthOf(id); got != s.want {
			t.Errorf("%s: health = %s, want %s", s.name, got, s.want)
		}
	}
}
