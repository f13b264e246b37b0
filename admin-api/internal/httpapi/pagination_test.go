package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

func TestPagination(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	// An empty collection is exactly this.
	if r := must(t, s.get("/services"), http.StatusOK); string(r.raw) != `{"data":[],"next":null}` {
		t.Errorf("empty list: %s", r.raw)
	}
	var want []string
	for i := range 25 {
		tags := []any{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		r := must(t, s.post("/services", map[string]any{"name": fmt.Sprintf("s%02d", i), "host": "a.example", "tags": tags}), http.StatusCreated)
		want = append(want, r.id())
	}
	sort.Strings(want)

	// Walk the pages with next: every entity once, in id order.
	var got []string
	path := "/services?size=10&tags=all"
	pages := 0
	for path != "" {
		r := must(t, s.get(path), http.StatusOK)
		pages++
		for _, e := range r.data() {
			got = append(got, e.(map[string]any)["id"].(string))
		}
		next, _ := r.obj()["next"].(string)
		offset, hasOffset := r.obj()["offset"]
		if next == "" {
			if hasOffset {
				t.Errorf("last page has an offset: %s", r.raw)
			}
			if _, present := r.obj()["next"]; !present {
				t.Error("last page has no next key")
			}
			break
		}
		// next repeats tags and size for top-level collections.
		if want := "/services?offset=" + url.QueryEscape(offset.(string)) + "&tags=all&size=10"; next != want {
			t.Errorf("next = %q, want %q", next, want)
		}
		path = next
	}
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%d pages, %d entities; want 3 pages, %d entities in id order", pages, len(got), len(want))
	}

	// offset works alone, as go-kong uses it.
	first := must(t, s.get("/services?size=20"), http.StatusOK)
	rest := must(t, s.get("/services?offset="+first.str("offset")), http.StatusOK)
	if len(first.data())+len(rest.data()) != 25 || rest.obj()["next"] != nil {
		t.Errorf("size 20 then offset: %d + %d", len(first.data()), len(rest.data()))
	}
	// Nested lists: next carries the parent as given and no tags or size.
	must(t, s.post("/consumers", map[string]any{"username": "alice"}), http.StatusCreated)
	for i := range 3 {
		must(t, s.post("/consumers/alice/key-auth", map[string]any{"key": fmt.Sprint("k", i)}), http.StatusCreated)
	}
	r := must(t, s.get("/consumers/alice/key-auth?size=2&tags=x"), http.StatusOK)
	if next := r.str("next"); next != "/consumers/alice/key-auth?offset="+url.QueryEscape(r.str("offset")) || len(r.data()) != 2 {
		t.Errorf("nested page: %s", r.raw)
	}
	r = must(t, s.get(r.str("next")), http.StatusOK)
	if len(r.data()) != 1 || r.obj()["next"] != nil {
		t.Errorf("nested last page: %s", r.raw)
	}
}

func TestTagFilters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for name, tags := range map[string][]any{
		"a": {"red"}, "b": {"red", "blue"}, "c": {"blue"}, "d": {"green"}, "e": nil,
	} {
		must(t, s.post("/services", map[string]any{"name": name, "host": "x.example", "tags": tags}), http.StatusCreated)
	}
	names := func(r response) string {
		var out []string
		for _, e := range r.data() {
			out = append(out, e.(map[string]any)["name"].(string))
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	tests := []struct {
		query, want string
	}{
		{"tags=red", "a,b"},
		{"tags=red,blue", "b"},
		{"tags=red/blue", "a,b,c"},
		{"tags=red/green", "a,b,d"},
		{"tags=purple", ""},
		{"tags=red,", "a,b"},
	}
	for _, tt := range tests {
		if got := names(must(t, s.get("/services?"+tt.query), http.StatusOK)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.query, got, tt.want)
		}
	}
	errs := []struct {
		query, want string
	}{
		{"tags=", "invalid option (tags: cannot be null)"},
		{"tags=a,b/c", "invalid option (tags: invalid filter syntax)"},
		{"tags=a,,b", "invalid option (tags: invalid filter syntax)"},
		{"tags=" + url.QueryEscape("a\x01b"), "invalid option (tags: invalid filter syntax)"},
		{"tags=1,2,3,4,5,6", "invalid option (tags: cannot query more than 5 tags)"},
	}
	for _, tt := range errs {
		r := must(t, s.get("/services?"+tt.query), http.StatusBadRequest)
		if r.obj()["message"] != tt.want || r.obj()["code"] == nil || r.obj()["options"] == nil {
			t.Errorf("%s: %s", tt.query, r.raw)
		}
	}
	// Nested lists ignore tags.
	must(t, s.post("/services/a/routes", map[string]any{"paths": []any{"/"}}), http.StatusCreated)
	if r := must(t, s.get("/services/a/routes?tags=nothing"), http.StatusOK); len(r.data()) != 1 {
		t.Errorf("nested list filtered by tags: %s", r.raw)
	}

	// /tags and /tags/{tag}.
	r := must(t, s.get("/tags"), http.StatusOK)
	if len(r.data()) != 5 {
		t.Errorf("/tags: %s", r.raw)
	}
	row := r.data()[0].(map[string]any)
	if row["tag"] != "blue" || row["entity_name"] != "services" || row["entity_id"] == "" {
		t.Errorf("/tags row: %v", row)
	}
	r = must(t, s.get("/tags/red?size=1"), http.StatusOK)
	if len(r.data()) != 1 || !strings.HasPrefix(r.str("next"), "/tags/red?offset=") {
		t.Errorf("/tags/red page: %s", r.raw)
	}
	if r = must(t, s.get(r.str("next")), http.StatusOK); len(r.data()) != 1 || r.obj()["next"] != nil {
		t.Errorf("/tags/red second page: %s", r.raw)
	}
	r = must(t, s.get("/tags/a%2Cb"), http.StatusBadRequest)
	if r.obj()["code"] == nil || r.obj()["name"] != "invalid unique tag" {
		t.Errorf("invalid tag: %s", r.raw)
	}
	r = must(t, s.get("/tags/%FF"), http.StatusBadRequest)
	if !strings.Contains(r.str("message"), "invalid utf-8") {
		t.Errorf("invalid utf-8 tag: %s", r.raw)
	}
}
