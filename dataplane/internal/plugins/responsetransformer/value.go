package responsetransformer

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
	"gatehouse.dev/dataplane/internal/plugins/internal/jsonobj"
)

// jsonValue is Kong's json_value for one rule: the configured text
// cjson-encoded with its quotes removed and its escaped quotes and
// slashes restored (a rule without a value gives the text "null"), then
// cast by typ. ok is false when a "number" does not parse.
func jsonValue(p conf.Pair, typ string) (json.RawMessage, bool) {
	text := "null"
	if p.HasValue {
		text = cjsonInner(p.Value)
	}
	switch typ {
	case "number":
		f, ok := luaToNumber(text)
		if !ok {
			return nil, false
		}
		return jsonobj.Number(f), true
	case "boolean":
		return jsonobj.Bool(text == "true"), true
	default:
		return jsonobj.String(text), true
	}
}

// cjsonInner is what json_value keeps of cjson.encode(s): the escapes of
// backslashes and control characters stay in the text (so they come out
// escaped twice), quotes and slashes do not.
func cjsonInner(s string) string {
	var b strings.Builder
	for i := range len(s) {
		c := s[i]
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[c>>4])
				b.WriteByte("0123456789abcdef"[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// luaToNumber is Lua's tonumber on a string: surrounding space allowed,
// decimal or hexadecimal ("0x1A"); infinities and NaN are refused (cjson
// cannot encode them).
func luaToNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	neg := false
	body := s
	if strings.HasPrefix(body, "-") {
		neg, body = true, body[1:]
	}
	if len(body) > 2 && (body[:2] == "0x" || body[:2] == "0X") {
		n, err := strconv.ParseUint(body[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		f := float64(n)
		if neg {
			f = -f
		}
		return f, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
