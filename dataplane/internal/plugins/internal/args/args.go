// Package args decodes and encodes query strings and form bodies the way
// OpenResty and Kong do (ngx.decode_args, kong.request.get_query,
// kong.service.request.set_query): a bare name is the Lua value true,
// "+" decodes to a space, repeated names collect their values in order,
// and encoding sorts the names and escapes everything but RFC 3986's
// unreserved characters.
package args

import (
	"slices"
	"strings"
)

// MaxArgs is how many arguments Kong's PDK reads by default
// (kong.request.get_query, lua_max_uri_args): later ones are dropped.
const MaxArgs = 100

// Value is one value of an argument: a string, or a bare name ("?a",
// Lua's true) when Bare is set.
type Value struct {
	S    string
	Bare bool
}

// String returns the value as Lua's tostring renders it: "true" for a
// bare name.
func (v Value) String() string {
	if v.Bare {
		return "true"
	}
	return v.S
}

// Arg is a named argument with its values in order (at least one).
type Arg struct {
	Name   string
	Values []Value
}

// Args are arguments in the order their names first appeared.
type Args []Arg

// Decode parses a query string or an x-www-form-urlencoded body, keeping
// at most limit arguments (limit <= 0 means no limit). Empty pairs and
// pairs with an empty name are skipped.
func Decode(raw string, limit int) Args {
	var out Args
	n := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if limit > 0 && n == limit {
			break
		}
		n++
		key, value, hasValue := strings.Cut(pair, "=")
		name := Unescape(key)
		if name == "" {
			continue
		}
		v := Value{Bare: !hasValue}
		if hasValue {
			v.S = Unescape(value)
		}
		out.add(name, v)
	}
	return out
}

func (a *Args) add(name string, v Value) {
	if i := a.index(name); i >= 0 {
		(*a)[i].Values = append((*a)[i].Values, v)
		return
	}
	*a = append(*a, Arg{Name: name, Values: []Value{v}})
}

func (a Args) index(name string) int {
	for i := range a {
		if a[i].Name == name {
			return i
		}
	}
	return -1
}

// Get returns the values of name, nil when absent.
func (a Args) Get(name string) []Value {
	if i := a.index(name); i >= 0 {
		return a[i].Values
	}
	return nil
}

// Has reports whether name is present.
func (a Args) Has(name string) bool { return a.index(name) >= 0 }

// Set replaces the values of name, adding it at the end when absent.
func (a *Args) Set(name string, values ...Value) {
	if i := a.index(name); i >= 0 {
		(*a)[i].Values = values
		return
	}
	*a = append(*a, Arg{Name: name, Values: values})
}

// Append adds a value to name, adding it at the end when absent.
func (a *Args) Append(name string, v Value) { a.add(name, v) }

// Del removes name.
func (a *Args) Del(name string) {
	if i := a.index(name); i >= 0 {
		*a = slices.Delete(*a, i, i+1)
	}
}

// Clone returns a copy sharing nothing with a.
func (a Args) Clone() Args {
	out := make(Args, len(a))
	for i, arg := range a {
		out[i] = Arg{Name: arg.Name, Values: slices.Clone(arg.Values)}
	}
	return out
}

// Encode writes the arguments as Kong's set_query does: names in
// lexicographic order, the values of one name in order, a bare value as
// the name alone, names and values escaped with EscapeURI.
func (a Args) Encode() string {
	sorted := slices.Clone(a)
	slices.SortStableFunc(sorted, func(x, y Arg) int { return strings.Compare(x.Name, y.Name) })
	var b strings.Builder
	for _, arg := range sorted {
		for _, v := range arg.Values {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			writeEscaped(&b, arg.Name)
			if !v.Bare {
				b.WriteByte('=')
				writeEscaped(&b, v.S)
			}
		}
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

// unreserved reports whether c is one of RFC 3986's unreserved
// characters, the only ones ngx.escape_uri leaves alone.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// EscapeURI escapes s as ngx.escape_uri does for a URI component:
// everything but unreserved characters becomes %XX (upper-case hex).
func EscapeURI(s string) string {
	for i := range len(s) {
		if !unreserved(s[i]) {
			var b strings.Builder
			writeEscaped(&b, s)
			return b.String()
		}
	}
	return s
}

func writeEscaped(b *strings.Builder, s string) {
	for i := range len(s) {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}

// Unescape decodes "+" as a space and %XX escapes; a "%" not followed by
// two hex digits is kept as it is (ngx_unescape_uri is lenient too).
func Unescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
