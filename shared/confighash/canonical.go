package confighash

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxDepth bounds the nesting of maps and arrays. It matches the limit of
// encoding/json's decoder, so anything decoded from JSON can be encoded, and
// it turns a map that contains itself into an error instead of a stack
// overflow.
const maxDepth = 10000

// Canonical returns the canonical encoding of v described in the package
// documentation. The result is valid JSON. On error it returns nil and an
// error that names the path of the offending value.
func Canonical(v any) ([]byte, error) {
	e := getEncoder()
	defer putEncoder(e)
	if err := e.value(v, 0); err != nil {
		return nil, fmt.Errorf("canonical encoding: %w", asPathError(err))
	}
	return slices.Clone(e.buf), nil
}

// AppendCanonical appends the canonical encoding of v to dst and returns the
// extended slice. On error it returns dst (whose spare capacity may have been
// written) and the error.
func AppendCanonical(dst []byte, v any) ([]byte, error) {
	e := getEncoder()
	defer putEncoder(e)
	pooled := e.buf
	e.buf = dst
	err := e.value(v, 0)
	out := e.buf
	e.buf = pooled // the caller's memory must never go back to the pool
	if err != nil {
		return dst, fmt.Errorf("canonical encoding: %w", asPathError(err))
	}
	return out, nil
}

// member is one map entry waiting to be sorted by key.
type member struct {
	key   string
	value any
}

// encoder holds the output buffer and a stack of map members that nested
// objects share, so encoding a value allocates nothing once warmed up.
type encoder struct {
	buf     []byte
	members []member
}

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

func getEncoder() *encoder { return encoderPool.Get().(*encoder) }

// putEncoder returns e to the pool. Oversized buffers are dropped so that one
// huge entity does not pin memory forever.
func putEncoder(e *encoder) {
	const maxKeep = 64 << 10
	if cap(e.buf) > maxKeep {
		e.buf = nil
	}
	e.buf = e.buf[:0]
	clear(e.members[:cap(e.members)]) // drop references to the caller's values
	e.members = e.members[:0]
	if cap(e.members) > maxKeep/32 {
		e.members = nil
	}
	encoderPool.Put(e)
}

// isNull reports whether v encodes as null.
func isNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return x == nil
	case []any:
		return x == nil
	}
	return false
}

func (e *encoder) value(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case string:
		return e.string(x)
	case map[string]any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.object(x, depth)
	case []any:
		if x == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.array(x, depth)
	default:
		var err error
		e.buf, err = appendNumber(e.buf, v)
		return err
	}
	return nil
}

func (e *encoder) object(m map[string]any, depth int) error {
	if depth >= maxDepth {
		return ErrTooDeep
	}
	start := len(e.members)
	for k, v := range m {
		if !isNull(v) {
			e.members = append(e.members, member{key: k, value: v})
		}
	}
	// Nested objects push beyond len(ms) and may reallocate e.members; ms
	// keeps pointing at this object's entries either way.
	ms := e.members[start:]
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	e.buf = append(e.buf, '{')
	for i, m := range ms {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.string(m.key); err != nil {
			return atKey(err, m.key)
		}
		e.buf = append(e.buf, ':')
		if err := e.value(m.value, depth+1); err != nil {
			return atKey(err, m.key)
		}
	}
	e.buf = append(e.buf, '}')
	clear(ms)
	e.members = e.members[:start]
	return nil
}

func (e *encoder) array(a []any, depth int) error {
	if depth >= maxDepth {
		return ErrTooDeep
	}
	e.buf = append(e.buf, '[')
	for i, v := range a {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(v, depth+1); err != nil {
			return atIndex(err, i)
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

const hexDigits = "0123456789abcdef"

func (e *encoder) string(s string) error {
	var err error
	e.buf, err = appendString(e.buf, s)
	return err
}

// appendString appends s as a JSON string with the escapes of the package
// documentation. It fails on invalid UTF-8.
func appendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	run := 0 // start of the pending run of bytes copied verbatim
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b, ErrInvalidUTF8
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[run:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		run = i
	}
	b = append(b, s[run:]...)
	return append(b, '"'), nil
}

// pathError is an encoding error with the path of the value that caused it.
// Path segments are appended while the recursion unwinds, innermost first.
type pathError struct {
	rev []string
	err error
}

// asPathError returns err as a *pathError, wrapping it at the root if it
// has no path yet.
func asPathError(err error) *pathError {
	if pe, ok := errors.AsType[*pathError](err); ok {
		return pe
	}
	return &pathError{err: err}
}

func atKey(err error, key string) error {
	pe := asPathError(err)
	if isIdent(key) {
		pe.rev = append(pe.rev, "."+key)
	} else {
		pe.rev = append(pe.rev, "["+strconv.Quote(key)+"]")
	}
	return pe
}

func atIndex(err error, i int) error {
	pe := asPathError(err)
	pe.rev = append(pe.rev, "["+strconv.Itoa(i)+"]")
	return pe
}

// Error renders the path from the root ("$"), showing at most the outermost
// 32 segments.
func (pe *pathError) Error() string {
	const maxShown = 32
	var sb strings.Builder
	sb.WriteString("at $")
	for i := len(pe.rev) - 1; i >= 0 && len(pe.rev)-1-i < maxShown; i-- {
		sb.WriteString(pe.rev[i])
	}
	if len(pe.rev) > maxShown {
		sb.WriteString("...")
	}
	sb.WriteString(": ")
	sb.WriteString(pe.err.Error())
	return sb.String()
}

func (pe *pathError) Unwrap() error { return pe.err }

// isIdent reports whether key can be shown as .key in a path.
func isIdent(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
