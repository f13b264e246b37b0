package args_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/dataplane/internal/plugins/internal/args"
)

func v(s string) args.Value { return args.Value{S: s} }

var bare = args.Value{Bare: true}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw   string
		limit int
		want  args.Args
	}{
		{"", 0, nil},
		{"a=1&b=2&a=3", 0, args.Args{{Name: "a", Values: []args.Value{v("1"), v("3")}}, {Name: "b", Values: []args.Value{v("2")}}}},
		{"flag&empty=&x=a+b%20c%2B", 0, args.Args{{Name: "flag", Values: []args.Value{bare}}, {Name: "empty", Values: []args.Value{v("")}}, {Name: "x", Values: []args.Value{v("a b c+")}}}},
		{"&&a=1&=skipped&%zz=%4", 0, args.Args{{Name: "a", Values: []args.Value{v("1")}}, {Name: "%zz", Values: []args.Value{v("%4")}}}},
		{"a=1&b=2&c=3", 2, args.Args{{Name: "a", Values: []args.Value{v("1")}}, {Name: "b", Values: []args.Value{v("2")}}}},
		{"a=x=y", 0, args.Args{{Name: "a", Values: []args.Value{v("x=y")}}}},
	}
	for _, tt := range tests {
		if got := args.Decode(tt.raw, tt.limit); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%q, %d) = %#v, want %#v", tt.raw, tt.limit, got, tt.want)
		}
	}
}

func TestEncodeIsKongsSetQuery(t *testing.T) {
	t.Parallel()
	// kong.service.request.set_query's documented example.
	a := args.Args{
		{Name: "foo", Values: []args.Value{v("hello world")}},
		{Name: "bar", Values: []args.Value{v("baz"), v("bla"), bare}},
		{Name: "zzz", Values: []args.Value{bare}},
		{Name: "blo", Values: []args.Value{v("")}},
	}
	if got, want := a.Encode(), "bar=baz&bar=bla&bar&blo=&foo=hello%20world&zzz"; got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	if got := args.EscapeURI("a-b_c.d~e f/g?h&i=j+k%"); got != "a-b_c.d~e%20f%2Fg%3Fh%26i%3Dj%2Bk%25" {
		t.Errorf("EscapeURI = %q", got)
	}
}

func TestEditing(t *testing.T) {
	t.Parallel()
	a := args.Decode("a=1&b=2", 0)
	c := a.Clone()
	a.Set("a", v("x"))
	a.Append("b", v("3"))
	a.Append("c", bare)
	a.Del("nope")
	if got := a.Encode(); got != "a=x&b=2&b=3&c" {
		t.Errorf("edited = %q", got)
	}
	if got := c.Encode(); got != "a=1&b=2" {
		t.Errorf("clone changed: %q", got)
	}
	a.Del("b")
	if a.Has("b") || a.Get("b") != nil || !a.Has("a") {
		t.Errorf("after Del: %v", a)
	}
	if got := bare.String() + "," + v("s").String(); got != "true,s" {
		t.Errorf("String = %q", got)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "x&y=&z=%41+", "k=%zz&k=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		a := args.Decode(raw, 0)
		b := args.Decode(a.Encode(), 0)
		sortArgs(a)
		sortArgs(b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%q: decoded %v, re-decoded %v", raw, a, b)
		}
	})
}

func sortArgs(a args.Args) {
	slices.SortStableFunc(a, func(x, y args.Arg) int { return strings.Compare(x.Name, y.Name) })
}
