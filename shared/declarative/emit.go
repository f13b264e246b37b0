package declarative

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gatehouse.dev/shared/schema"
)

// emitter writes JSON values as indented JSON or block-style YAML. The
// standard encoders would need the whole document as one value (and
// yaml.v3's keeps every event of a document), which costs many times the
// output's size for a large configuration; the emitter streams.
type emitter struct {
	w   io.Writer
	buf []byte
	err error
}

// flushAt is the buffer size at which the emitter writes out.
const flushAt = 64 << 10

func (e *emitter) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

func (e *emitter) maybeFlush() {
	if len(e.buf) >= flushAt {
		e.flush()
	}
}

func (e *emitter) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func indent(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// entries returns the keys and values of an object in output order.
func entries(v any) ([]string, []any, bool) {
	switch t := v.(type) {
	case *orderedMap:
		return t.keys, t.vals, true
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = t[k]
		}
		return keys, vals, true
	}
	return nil, nil, false
}

func elements(v any) ([]any, bool) {
	switch t := v.(type) {
	case []any:
		return t, true
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(t))
		for i, m := range t {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// json writes v as JSON indented by two spaces per level, starting at
// level depth (the first line is not indented).
func (e *emitter) json(v any, depth int) {
	if keys, vals, ok := entries(v); ok {
		if len(keys) == 0 {
			e.buf = append(e.buf, "{}"...)
			return
		}
		e.buf = append(e.buf, '{')
		for i, k := range keys {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = append(e.buf, '\n')
			e.buf = indent(e.buf, 2*(depth+1))
			e.buf = appendJSONString(e.buf, k)
			e.buf = append(e.buf, ": "...)
			e.json(vals[i], depth+1)
			e.maybeFlush()
		}
		e.buf = append(e.buf, '\n')
		e.buf = indent(e.buf, 2*depth)
		e.buf = append(e.buf, '}')
		return
	}
	if list, ok := elements(v); ok {
		if len(list) == 0 {
			e.buf = append(e.buf, "[]"...)
			return
		}
		e.buf = append(e.buf, '[')
		for i, el := range list {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = append(e.buf, '\n')
			e.buf = indent(e.buf, 2*(depth+1))
			e.json(el, depth+1)
		}
		e.buf = append(e.buf, '\n')
		e.buf = indent(e.buf, 2*depth)
		e.buf = append(e.buf, ']')
		return
	}
	e.scalar(v, false)
}

// scalar writes a string, number, boolean or null; YAML strings are
// written plain when they read back as the same string.
func (e *emitter) scalar(v any, yaml bool) {
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		if yaml && plainYAML(t, false) {
			e.buf = append(e.buf, t...)
		} else {
			e.buf = appendJSONString(e.buf, t)
		}
	case bool:
		e.buf = strconv.AppendBool(e.buf, t)
	case json.Number:
		if _, err := strconv.ParseFloat(string(t), 64); err != nil {
			e.fail(fmt.Errorf("invalid number %q", string(t)))
			return
		}
		e.buf = append(e.buf, t...)
	case int64:
		e.buf = strconv.AppendInt(e.buf, t, 10)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(t), 10)
	case float64:
		e.buf = e.appendFloat(e.buf, t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			e.fail(err)
			return
		}
		e.buf = append(e.buf, b...)
	}
}

// appendFloat formats f as encoding/json does.
func (e *emitter) appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.fail(errors.New("unsupported number: " + strconv.FormatFloat(f, 'g', -1, 64)))
		return b
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json writes exponents.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString quotes s as JSON without HTML escaping; the result is
// also a valid YAML double-quoted scalar.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' || r == '\ufeff' || r >= 0x80 && r < 0xa0 {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				r = '\ufffd'
			}
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// maxImplicitKey bounds the keys written "key: value": YAML limits an
// implicit key to 1024 characters, and longer ones are written as
// explicit keys ("? key" then ": value" on the next line).
const maxImplicitKey = 1000

// yamlKey writes a mapping key at column col, up to its ':'.
func (e *emitter) yamlKey(k string, col int) {
	start := len(e.buf)
	if plainYAML(k, true) {
		e.buf = append(e.buf, k...)
	} else {
		e.buf = appendJSONString(e.buf, k)
	}
	if len(e.buf)-start > maxImplicitKey {
		e.buf = append(e.buf[:start], append([]byte("? "), e.buf[start:]...)...)
		e.buf = append(e.buf, '\n')
		e.buf = indent(e.buf, col)
	}
	e.buf = append(e.buf, ':')
}

// yamlMapping writes the entries of a non-empty mapping at column col,
// the first one where the cursor is (after "- " in a sequence).
func (e *emitter) yamlMapping(keys []string, vals []any, col int) {
	for i, k := range keys {
		if i > 0 {
			e.buf = indent(e.buf, col)
		}
		e.yamlKey(k, col)
		e.yamlValue(vals[i], col)
		e.maybeFlush()
	}
}

// yamlValue writes the value of a key at column col: inline for scalars
// and empty collections, else on the following lines.
func (e *emitter) yamlValue(v any, col int) {
	if keys, vals, ok := entries(v); ok {
		if len(keys) == 0 {
			e.buf = append(e.buf, " {}\n"...)
			return
		}
		e.buf = append(e.buf, '\n')
		e.buf = indent(e.buf, col+2)
		e.yamlMapping(keys, vals, col+2)
		return
	}
	if list, ok := elements(v); ok {
		if len(list) == 0 {
			e.buf = append(e.buf, " []\n"...)
			return
		}
		e.buf = append(e.buf, '\n')
		// Sequences sit at the key's column, as Kong and decK write them.
		e.yamlSequence(list, col, true)
		return
	}
	if s, ok := v.(string); ok && literalYAML(s) {
		e.literal(s, col+2)
		return
	}
	e.buf = append(e.buf, ' ')
	e.scalar(v, true)
	e.buf = append(e.buf, '\n')
}

// yamlSequence writes the items of a non-empty sequence at column col;
// indentFirst is false when the cursor already stands there.
func (e *emitter) yamlSequence(list []any, col int, indentFirst bool) {
	for i, el := range list {
		if i > 0 || indentFirst {
			e.buf = indent(e.buf, col)
		}
		e.buf = append(e.buf, "- "...)
		if keys, vals, ok := entries(el); ok && len(keys) > 0 {
			e.yamlMapping(keys, vals, col+2)
			continue
		}
		if items, ok := elements(el); ok && len(items) > 0 {
			e.yamlSequence(items, col+2, false)
			continue
		}
		// A scalar or an empty collection: yamlValue's inline form
		// without its leading space.
		e.buf = e.buf[:len(e.buf)-1]
		e.yamlValue(el, col)
	}
}

// literal writes a multi-line string as a literal block scalar.
func (e *emitter) literal(s string, col int) {
	e.buf = append(e.buf, " |"...)
	body := s
	switch {
	case strings.HasSuffix(s, "\n"):
		body = s[:len(s)-1]
	default:
		e.buf = append(e.buf, '-')
	}
	e.buf = append(e.buf, '\n')
	for line := range strings.SplitSeq(body, "\n") {
		if line != "" {
			e.buf = indent(e.buf, col)
			e.buf = append(e.buf, line...)
		}
		e.buf = append(e.buf, '\n')
	}
}

// literalYAML reports whether s reads back unchanged from a literal block
// ("|" or "|-"): several lines of printable text, the first not indented,
// ending with at most one newline.
func literalYAML(s string) bool {
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") || strings.HasSuffix(s, "\n\n") {
		return false
	}
	if s[0] == ' ' || s[0] == '\n' || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return false
		}
	}
	for line := range strings.SplitSeq(s, "\n") {
		if strings.HasSuffix(line, " ") || strings.HasPrefix(line, "\t") {
			return false
		}
	}
	return true
}

// yamlWords are plain scalars that YAML 1.1 or 1.2 parsers read as
// something other than a string.
var yamlWords = map[string]bool{
	"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true,
	"y": true, "n": true, "null": true,
}

// plainYAML reports whether s may be written unquoted and read back as
// the same string: UUIDs, and a conservative subset of plain scalars
// (ASCII letters, digits and a few punctuation characters, starting with
// a letter, "_", "/" or "~"), never a word that reads as a boolean or null.
func plainYAML(s string, key bool) bool {
	if s == "" || s == "~" || len(s) > 512 {
		return false
	}
	if !key && schema.IsUUID(s) {
		// Hex and dashes in 8-4-4-4-12 groups read as nothing but a string.
		return true
	}
	switch c := s[0]; {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '/', c == '~':
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_./~@%+=-()$^\\", c) >= 0:
		case c == ':' && !key && i+1 < len(s) && s[i+1] != ' ':
		case c == ' ' && !key && i+1 < len(s) && s[i+1] != ' ' && s[i+1] != '#' && s[i-1] != ':':
		default:
			return false
		}
	}
	return !yamlWords[strings.ToLower(s)]
}
