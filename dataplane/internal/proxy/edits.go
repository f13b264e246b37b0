package proxy

import (
	"net/textproto"
	"slices"
)

// edits are the plugins' changes to the upstream request, applied when
// it is written: the client's request itself is never changed.
type edits struct {
	// headers are set or added headers, in order, names canonical.
	headers []kv
	// replaced are the canonical names whose client values are dropped
	// (set or deleted).
	replaced []string
	method   string
	path     string
	pathSet  bool
	query    string
	querySet bool
	body     []byte
	bodySet  bool
	host     string // a Host set by a plugin
	hostSet  bool
}

type kv struct{ name, value string }

func (e edits) reset() edits {
	clear(e.headers)
	clear(e.replaced)
	return edits{headers: e.headers[:0], replaced: e.replaced[:0]}
}

func (e *edits) isReplaced(canonical string) bool {
	return slices.Contains(e.replaced, canonical)
}

func (e *edits) drop(canonical string) {
	e.headers = slices.DeleteFunc(e.headers, func(h kv) bool { return h.name == canonical })
	if !e.isReplaced(canonical) {
		e.replaced = append(e.replaced, canonical)
	}
}

// set replaces every value of name with value.
func (e *edits) set(name, value string) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	if name == "Host" {
		e.host, e.hostSet = value, true
		return
	}
	e.drop(name)
	e.headers = append(e.headers, kv{name, value})
}

// add adds a value of name after the present ones.
func (e *edits) add(name, value string) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	if name == "Host" {
		e.host, e.hostSet = value, true
		return
	}
	e.headers = append(e.headers, kv{name, value})
}

// del removes every value of name.
func (e *edits) del(name string) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	if name == "Host" {
		e.host, e.hostSet = "", false
		return
	}
	e.drop(name)
}

// lookup returns the first edited value of name and whether the edits
// decide it (false: the client's value stands).
func (e *edits) lookup(name string) (string, bool) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	for _, h := range e.headers {
		if h.name == name {
			return h.value, e.isReplaced(name)
		}
	}
	return "", e.isReplaced(name)
}

// added returns the first added value of name when the client has none.
func (e *edits) added(name string) (string, bool) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	for _, h := range e.headers {
		if h.name == name {
			return h.value, true
		}
	}
	return "", false
}
