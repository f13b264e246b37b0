package confighash

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// appendNumber appends the canonical form of a Go number. Any other type is
// ErrUnsupportedType.
func appendNumber(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		return appendFloat(b, x)
	case json.Number:
		return appendJSONNumber(b, x)
	}
	return b, fmt.Errorf("%w %T", ErrUnsupportedType, v)
}

// appendFloat appends f exactly as encoding/json writes a float64 (the
// 'f' form for magnitudes in [1e-6, 1e21), else the 'e' form with a one- or
// two-digit exponent), so that a value and its JSON text read back with
// UseNumber encode the same: 1e20 is written 100000000000000000000 on both
// sides.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, ErrNonFinite
	}
	if f == 0 {
		return append(b, '0'), nil // -0 as 0
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendJSONNumber appends n: integer literals verbatim (-0 as 0), anything
// else as the float64 it parses to.
func appendJSONNumber(b []byte, n json.Number) ([]byte, error) {
	s := string(n)
	integer, ok := scanNumber(s)
	if !ok {
		return b, ErrInvalidNumber
	}
	if integer {
		if s == "-0" {
			s = "0"
		}
		return append(b, s...), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		// The grammar was checked, so only a range error can remain, and
		// ParseFloat reports underflow without one.
		return b, ErrInvalidNumber
	}
	return appendFloat(b, f)
}

// scanNumber reports whether s matches the JSON number grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and, if so, whether it is an
// integer literal (no fraction and no exponent).
func scanNumber(s string) (integer, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i+1)
	default:
		return false, false
	}
	integer = true
	if i < len(s) && s[i] == '.' {
		integer = false
		j := skipDigits(s, i+1)
		if j == i+1 {
			return false, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return false, false
		}
		i = j
	}
	return integer, i == len(s)
}

func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
