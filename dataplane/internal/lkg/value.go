package lkg

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Entities are stored in a compact binary form of their JSON values,
// several times faster to decode than JSON text, which is what makes a
// cold start from a large cache quick. Numbers are kept as their decimal
// text and decode to json.Number, as entities arrive from the control
// plane, so the digest recomputed at load is the one that was saved.
//
// Each value is a tag byte and its payload; lengths and counts are
// unsigned varints:
//
//	tagNull, tagFalse, tagTrue        no payload
//	tagString, tagNumber              length, bytes
//	tagArray                          count, values
//	tagObject                         count, then count × (key length, key bytes, value)
//	tagJSON                           length, JSON text (any other Go type, via encoding/json)
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagString
	tagNumber
	tagArray
	tagObject
	tagJSON
)

// maxDepth bounds nesting when decoding, as confighash does.
const maxDepth = 10000

var errCorrupt = errors.New("corrupt value")

// encodeValue appends v's encoding to b.
func encodeValue(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(b, tagNull), nil
	case bool:
		if t {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case string:
		return appendBytes(append(b, tagString), t), nil
	case json.Number:
		return appendBytes(append(b, tagNumber), string(t)), nil
	case int:
		return appendNumber(b, strconv.AppendInt(nil, int64(t), 10)), nil
	case int64:
		return appendNumber(b, strconv.AppendInt(nil, t, 10)), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("encode: non-finite number %v", t)
		}
		return appendNumber(b, strconv.AppendFloat(nil, t, 'g', -1, 64)), nil
	case []any:
		b = binary.AppendUvarint(append(b, tagArray), uint64(len(t)))
		for _, el := range t {
			var err error
			if b, err = encodeValue(b, el); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		b = binary.AppendUvarint(append(b, tagObject), uint64(len(t)))
		for k, el := range t {
			b = appendBytes(b, k)
			var err error
			if b, err = encodeValue(b, el); err != nil {
				return nil, err
			}
		}
		return b, nil
	default:
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		return appendBytes(append(b, tagJSON), string(data)), nil
	}
}

func appendBytes(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendNumber(b, text []byte) []byte {
	return append(binary.AppendUvarint(append(b, tagNumber), uint64(len(text))), text...)
}

// decodeObject decodes an encoded object.
func decodeObject(data []byte) (map[string]any, error) {
	d := decoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.data) {
		return nil, fmt.Errorf("%w: trailing data", errCorrupt)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not an object", errCorrupt)
	}
	return m, nil
}

type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) uvarint() (int, error) {
	n, size := binary.Uvarint(d.data[d.pos:])
	if size <= 0 {
		return 0, errCorrupt
	}
	// A count or length can never exceed the bytes left.
	left := len(d.data) - d.pos - size
	if n > uint64(left) { //nolint:gosec // G115: left is not negative
		return 0, errCorrupt
	}
	d.pos += size
	return int(n), nil //nolint:gosec // G115: n <= left, an int
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	out := d.data[d.pos : d.pos+n]
	d.pos += n
	return out, nil
}

func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) || depth > maxDepth {
		return nil, errCorrupt
	}
	tag := d.data[d.pos]
	d.pos++
	switch tag {
	case tagNull:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagString:
		s, err := d.bytes()
		return string(s), err
	case tagNumber:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		if len(s) == 0 || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) || !json.Valid(s) {
			return nil, fmt.Errorf("%w: bad number", errCorrupt)
		}
		return json.Number(s), nil
	case tagArray:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagObject:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		for range n {
			k, err := d.bytes()
			if err != nil {
				return nil, err
			}
			if out[string(k)], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case tagJSON:
		s, err := d.bytes()
		if err != nil {
			return nil, err
		}
		var v any
		if err := unmarshalNumbers(s, &v); err != nil {
			return nil, fmt.Errorf("%w: %w", errCorrupt, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: unknown tag %d", errCorrupt, tag)
}
