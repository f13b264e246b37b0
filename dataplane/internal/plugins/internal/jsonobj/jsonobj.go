// Package jsonobj edits the top-level members of a JSON object the way
// Kong's transformer plugins edit a decoded Lua table, while keeping
// everything else of the document as it was: the members' order, and the
// bytes of every value the edit does not touch (so numbers keep their
// precision, where Kong's cjson would round them to 14 digits).
package jsonobj

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// ErrNotObject is returned by Parse for valid JSON that is not an object.
var ErrNotObject = errors.New("not a JSON object")

// Object is a JSON object's members in order, each value as raw JSON.
type Object struct {
	keys []string
	vals []json.RawMessage
}

// Parse reads a JSON object. A repeated member keeps its first position
// and its last value, as decoding into a table does.
func Parse(data []byte) (*Object, error) {
	if !json.Valid(data) {
		return nil, errors.New("decode json: invalid document")
	}
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return nil, ErrNotObject
	}
	o := &Object{}
	i = skipSpace(data, i+1)
	for data[i] != '}' {
		// A member: "key" : value, then , or }.
		end := stringEnd(data, i)
		key, err := decodeKey(data[i:end])
		if err != nil {
			return nil, err
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // past ':'
		vend := valueEnd(data, i)
		o.Set(key, json.RawMessage(data[i:vend]))
		i = skipSpace(data, vend)
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return o, nil
}

// The scanners below walk a document json.Valid accepted.

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index after the string starting at data[i].
func stringEnd(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// valueEnd returns the index after the value starting at data[i].
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default:
		for ; i < len(data); i++ {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}

// decodeKey returns a member name without its quotes, unescaped.
func decodeKey(raw []byte) (string, error) {
	inner := raw[1 : len(raw)-1]
	if !bytes.ContainsRune(inner, '\\') {
		return string(inner), nil
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil {
		return "", fmt.Errorf("decode json: %w", err)
	}
	return key, nil
}

func (o *Object) index(name string) int { return slices.Index(o.keys, name) }

// Len is the number of members.
func (o *Object) Len() int { return len(o.keys) }

// Get returns a member's raw value.
func (o *Object) Get(name string) (json.RawMessage, bool) {
	if i := o.index(name); i >= 0 {
		return o.vals[i], true
	}
	return nil, false
}

// Has reports whether a member is present (Lua's t[name] ~= nil; a JSON
// null is present, as cjson's null is).
func (o *Object) Has(name string) bool { return o.index(name) >= 0 }

// Truthy reports whether a member is present and not false (Lua's
// truthiness of t[name]).
func (o *Object) Truthy(name string) bool {
	v, ok := o.Get(name)
	return ok && string(bytes.TrimSpace(v)) != "false"
}

// Set replaces a member's value, adding it at the end when absent.
func (o *Object) Set(name string, raw json.RawMessage) {
	if i := o.index(name); i >= 0 {
		o.vals[i] = raw
		return
	}
	o.keys = append(o.keys, name)
	o.vals = append(o.vals, raw)
}

// Del removes a member.
func (o *Object) Del(name string) {
	if i := o.index(name); i >= 0 {
		o.keys = slices.Delete(o.keys, i, i+1)
		o.vals = slices.Delete(o.vals, i, i+1)
	}
}

// Rename moves old's value to name (t[name] = t[old]; t[old] = nil): in
// old's place, or in name's when name exists already.
func (o *Object) Rename(old, name string) {
	i := o.index(old)
	if i < 0 || old == name {
		return
	}
	if j := o.index(name); j >= 0 {
		o.vals[j] = o.vals[i]
		o.Del(old)
		return
	}
	o.keys[i] = name
}

// Append is Kong's append_value: a string member becomes [member, v], an
// array gets v at its end, an object gets v as its first array element
// (member "1"; an empty object becomes [v]), and anything else, or an
// absent member, is replaced by [v].
func (o *Object) Append(name string, v json.RawMessage) {
	cur, ok := o.Get(name)
	cur = bytes.TrimSpace(cur)
	switch {
	case ok && len(cur) > 0 && cur[0] == '"':
		o.Set(name, array(cur, v))
	case ok && len(cur) > 0 && cur[0] == '[':
		inner := bytes.TrimSpace(cur[1 : len(cur)-1])
		if len(inner) == 0 {
			o.Set(name, array(v))
		} else {
			o.Set(name, array(inner, v))
		}
	case ok && len(cur) > 0 && cur[0] == '{':
		obj, err := Parse(cur)
		if err != nil || obj.Len() == 0 {
			o.Set(name, array(v))
			return
		}
		obj.Set("1", v)
		o.Set(name, obj.Bytes())
	default:
		o.Set(name, array(v))
	}
}

// array joins raw elements into a JSON array.
func array(elems ...[]byte) json.RawMessage {
	out := []byte{'['}
	for i, e := range elems {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, e...)
	}
	return append(out, ']')
}

// Bytes encodes the object compactly at the top level; values are
// written as they are held.
func (o *Object) Bytes() []byte {
	out := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = AppendString(out, k)
		out = append(out, ':')
		out = append(out, o.vals[i]...)
	}
	return append(out, '}')
}

// String encodes s as a JSON string.
func String(s string) json.RawMessage { return AppendString(nil, s) }

// Number encodes f as cjson does (14 significant digits, "%.14g").
func Number(f float64) json.RawMessage {
	return strconv.AppendFloat(nil, f, 'g', 14, 64)
}

// Bool encodes b.
func Bool(b bool) json.RawMessage { return strconv.AppendBool(nil, b) }

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, nothing else (no HTML escaping).
func AppendString(out []byte, s string) []byte {
	out = append(out, '"')
	for i := range len(s) {
		c := s[i]
		switch c {
		case '"', '\\':
			out = append(out, '\\', c)
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		default:
			if c < 0x20 {
				out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			} else {
				out = append(out, c)
			}
		}
	}
	return append(out, '"')
}
