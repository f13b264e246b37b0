package httpapi

import (
	"encoding/json"
	"testing"
)

func TestDecodeArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want string // JSON
	}{
		{"a=1", `{"a":"1"}`},
		{"a=1&a=2", `{"a":["1","2"]}`},
		{"a[]=1&a[]=2", `{"a":["1","2"]}`},
		{"a[2]=y&a[1]=x", `{"a":["x","y"]}`},
		{"a[1][2]=v", `{"a":[["v"]]}`},
		{"config.minute=5&config.redis.host=h", `{"config":{"minute":"5","redis":{"host":"h"}}}`},
		{"headers[x-foo]=a&headers.x-bar=b", `{"headers":{"x-bar":"b","x-foo":"a"}}`},
		{"service.name=svc", `{"service":{"name":"svc"}}`},
		{".a=1&b.=2", `{".a":"1","b.":"2"}`},
		{"a..b=1", `{"a":{"b":"1"}}`},
		{"flag", `{"flag":true}`},
		{"a=x+y%21&b=%zz", `{"a":"x y!","b":"%zz"}`},
		{"a=1&a.b=2", `{"a":{"b":"2"}}`},
		{"a[1]=x&a.b=2", `{"a":{"b":"2"}}`},
		{"=v&&", `{"":"v"}`},
		{"a[]=1&a=2", `{"a":["1","2"]}`},
		{"x[0]=a", `{"x":{"0":"a"}}`},
	}
	for _, tt := range tests {
		pairs, err := parseURLEncoded(tt.body)
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		got, _ := json.Marshal(decodeArgs(pairs))
		if string(got) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.body, got, tt.want)
		}
	}
}

func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{"a=1", "a[1][2]=v&a[]=x", "a.b.c[x]=1&a.b=2", "[]=1&.=2&a[=3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		pairs, err := parseURLEncoded(body)
		if err != nil {
			return
		}
		if _, err := json.Marshal(decodeArgs(pairs)); err != nil {
			t.Fatalf("%q: %v", body, err)
		}
	})
}

func TestParseTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		or   bool
		err  bool
	}{
		{in: "a", want: []string{"a"}},
		{in: "a,b", want: []string{"a", "b"}},
		{in: "a/b", want: []string{"a", "b"}, or: true},
		{in: "a b,c", want: []string{"a b", "c"}},
		{in: "é,ü", want: []string{"é", "ü"}},
		{in: "a,", want: []string{"a"}},
		{in: ",a", err: true},
		{in: "a,b/c", err: true},
		{in: "", err: true},
		{in: "a\tb", err: true},
		{in: "1,2,3,4,5,6", err: true},
	}
	for _, tt := range tests {
		got, or, err := parseTags(tt.in)
		if (err != nil) != tt.err || !tt.err && (or != tt.or || len(got) != len(tt.want)) {
			t.Errorf("%q: %v %v %v, want %v %v err=%v", tt.in, got, or, err, tt.want, tt.or, tt.err)
			continue
		}
		for i := range tt.want {
			if got[i] != tt.want[i] {
				t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
			}
		}
	}
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int
	}{{"1", 1}, {"1000", 1000}, {"1e2", 100}, {"0x10", 16}, {" 5 ", 5}} {
		if n, err := pageSize([]string{tt.in}); err != nil || n != tt.want {
			t.Errorf("%q: %d %v, want %d", tt.in, n, err, tt.want)
		}
	}
	for _, in := range []string{"0", "1001", "1.5", "abc", "", "inf", "NaN", "--1", "1e400"} {
		if _, err := pageSize([]string{in}); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if _, err := pageSize([]string{"1", "2"}); err == nil {
		t.Error("repeated size accepted")
	}
}

func TestEscapeURI(t *testing.T) {
	t.Parallel()
	if got := escapeURI("a b/c,d~e_f.g-h"); got != "a%20b%2Fc%2Cd~e_f.g-h" {
		t.Errorf("escapeURI = %q", got)
	}
}
