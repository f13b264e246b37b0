package httpapi

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// arg is one form or multipart argument, in body order.
type arg struct {
	name  string
	value any
}

// parseURLEncoded splits a form-urlencoded body into its arguments, as
// nginx does: pairs separated by '&', '+' as space, escapes decoded where
// valid. A name without '=' has the value true.
func parseURLEncoded(s string) ([]arg, error) {
	var out []arg
	for piece := range strings.SplitSeq(s, "&") {
		if piece == "" {
			continue
		}
		if len(out) >= maxArgs {
			return nil, errTooManyArgs
		}
		k, v, hasValue := strings.Cut(piece, "=")
		name := unescapeQuery(k)
		if !hasValue {
			out = append(out, arg{name: name, value: true})
			continue
		}
		out = append(out, arg{name: name, value: unescapeQuery(v)})
	}
	return out, nil
}

// unescapeQuery decodes a form name or value; invalid UTF-8 becomes
// U+FFFD, as in JSON bodies.
func unescapeQuery(s string) string {
	u, err := url.QueryUnescape(s)
	if err != nil {
		u = strings.ReplaceAll(s, "+", " ")
	}
	return strings.ToValidUTF8(u, "\uFFFD")
}

// step is one level of an argument name: a map key, an array index
// (from 1, as Lua counts) or an append ("[]").
type step struct {
	key   string
	index int
	kind  stepKind
}

type stepKind int

const (
	stepKey stepKind = iota
	stepIndex
	stepPush
)

// parseName splits an argument name as Kong's arguments decoder does:
// dots separate map keys ("config.minute"), "[n]" indexes arrays from 1,
// "[]" appends, and "[name]" is a map key ("headers[x-foo]"). A name that
// starts or ends with a dot is a plain key.
func parseName(name string) []step {
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return []step{{key: name}}
	}
	var steps []step
	for seg := range strings.SplitSeq(name, ".") {
		if seg == "" {
			continue
		}
		var brackets []step
		for strings.HasSuffix(seg, "]") {
			open := strings.LastIndexByte(seg, '[')
			if open <= 0 {
				break
			}
			inner := seg[open+1 : len(seg)-1]
			if strings.ContainsAny(inner, "[]") {
				break
			}
			switch n, err := strconv.Atoi(inner); {
			case inner == "":
				brackets = append(brackets, step{kind: stepPush})
			case err == nil && n >= 1 && n <= maxArgs && isDigits(inner):
				brackets = append(brackets, step{kind: stepIndex, index: n})
			default:
				brackets = append(brackets, step{key: inner})
			}
			seg = seg[:open]
		}
		steps = append(steps, step{key: seg})
		for _, b := range slices.Backward(brackets) {
			steps = append(steps, b)
		}
	}
	if len(steps) == 0 {
		return []step{{key: name}}
	}
	return steps
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// list is an array being built from indexed arguments.
type list struct {
	items map[int]any
	max   int
}

func newList() *list { return &list{items: map[int]any{}} }

func (l *list) set(i int, v any) {
	l.items[i] = v
	if i > l.max {
		l.max = i
	}
}

func (l *list) push(v any) { l.set(l.max+1, v) }

// decodeArgs builds the nested structure that the arguments describe:
// {"config": {"minute": "5"}, "paths": ["/a", "/b"]}. Repeated names make
// lists. Values stay strings; admin.Infer converts them with the schema.
func decodeArgs(args []arg) map[string]any {
	root := map[string]any{}
	for _, a := range args {
		put(root, parseName(a.name), a.value)
	}
	return finish(root).(map[string]any)
}

func put(root map[string]any, steps []step, value any) {
	var cur any = root
	for i, st := range steps {
		if i == len(steps)-1 {
			assign(cur, st, value)
			return
		}
		next := steps[i+1]
		child := childOf(cur, st)
		if !fits(child, next) {
			if next.kind == stepKey {
				child = map[string]any{}
			} else {
				child = newList()
			}
			if !storeChild(cur, st, child) {
				return
			}
		}
		cur = child
	}
}

// childOf returns the value under st in a container (nil for appends).
func childOf(cur any, st step) any {
	switch c := cur.(type) {
	case map[string]any:
		if st.kind == stepKey {
			return c[st.key]
		}
	case *list:
		if st.kind == stepIndex {
			return c.items[st.index]
		}
	}
	return nil
}

// fits reports whether v is the container the next step needs.
func fits(v any, next step) bool {
	switch v.(type) {
	case map[string]any:
		return next.kind == stepKey
	case *list:
		return next.kind != stepKey
	}
	return false
}

// storeChild puts a new container under st; it reports false when st cannot
// apply to cur (a map key on an array).
func storeChild(cur any, st step, child any) bool {
	switch c := cur.(type) {
	case map[string]any:
		if st.kind != stepKey {
			return false
		}
		c[st.key] = child
	case *list:
		switch st.kind {
		case stepIndex:
			c.set(st.index, child)
		case stepPush:
			c.push(child)
		case stepKey:
			return false
		}
	}
	return true
}

// assign sets a value: a repeated map key becomes a list.
func assign(cur any, st step, value any) {
	switch c := cur.(type) {
	case map[string]any:
		if st.kind != stepKey {
			return
		}
		switch old := c[st.key].(type) {
		case nil:
			c[st.key] = value
		case *list:
			old.push(value)
		case map[string]any:
			c[st.key] = value
		default:
			l := newList()
			l.push(old)
			l.push(value)
			c[st.key] = l
		}
	case *list:
		switch st.kind {
		case stepIndex:
			c.set(st.index, value)
		case stepPush:
			c.push(value)
		case stepKey:
		}
	}
}

// finish turns lists into arrays, in index order.
func finish(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, el := range t {
			t[k] = finish(el)
		}
		return t
	case *list:
		keys := make([]int, 0, len(t.items))
		for k := range t.items {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = finish(t.items[k])
		}
		return out
	}
	return v
}
