package conf

import "strings"

// Pair is one "name:value" element of the transformer plugins' lists,
// split as Kong's pair:match("^([^:]+):*(.-)$"): the name runs to the
// first colon and the colons right after it are skipped. HasValue is
// false when nothing follows (Kong's iterators then yield no value).
type Pair struct {
	Name, Value string
	HasValue    bool
}

// SplitPair splits one element; ok is false for an element without a
// name (which the schema refuses).
func SplitPair(s string) (p Pair, ok bool) {
	name, value, found := strings.Cut(s, ":")
	if name == "" {
		return Pair{}, false
	}
	if !found {
		return Pair{Name: name}, true
	}
	value = strings.TrimLeft(value, ":")
	return Pair{Name: name, Value: value, HasValue: value != ""}, true
}

// Pairs splits every element of the array m[key], skipping elements
// without a name.
func Pairs(m map[string]any, key string) []Pair {
	list := Strings(m, key)
	if len(list) == 0 {
		return nil
	}
	out := make([]Pair, 0, len(list))
	for _, s := range list {
		if p, ok := SplitPair(s); ok {
			out = append(out, p)
		}
	}
	return out
}
