package httpapi

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/shared/schema"
)

// Page sizes (kong/api/endpoints.lua).
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	maxTags         = 5
)

// listQuery is a collection GET's query: the page options and the raw
// size and tags, which next-page links repeat.
type listQuery struct {
	opts    admin.ListOptions
	rawSize string
	rawTags string
	hasSize bool
	hasTags bool
}

// parseList reads size, offset and (when withTags) tags from the query,
// with Kong's errors: code 9 for a bad size, code 11 for bad tags.
func parseList(c echo.Context, withTags bool) (listQuery, error) {
	q := c.QueryParams()
	lq := listQuery{opts: admin.ListOptions{Size: defaultPageSize}}
	if sizes, ok := q["size"]; ok {
		lq.hasSize = true
		lq.rawSize = sizes[0]
		n, err := pageSize(sizes)
		if err != nil {
			return lq, err
		}
		lq.opts.Size = n
	}
	lq.opts.Offset = q.Get("offset")
	if tags, ok := q["tags"]; ok && withTags {
		lq.hasTags = true
		lq.rawTags = tags[0]
		list, or, err := parseTags(tags[0])
		if err != nil {
			return lq, err
		}
		lq.opts.Tags, lq.opts.TagsOr = list, or
	}
	return lq, nil
}

// pageSize is Kong's get_page_size and the DAO's size check.
func pageSize(values []string) (int, error) {
	if len(values) != 1 {
		return 0, schema.InvalidSize("size must be a number")
	}
	f, ok := luaNumber(values[0])
	if !ok {
		return 0, schema.InvalidSize("size must be a number")
	}
	if f != math.Trunc(f) || f < 1 || f > maxPageSize {
		return 0, schema.InvalidSize("size must be an integer between 1 and 1000")
	}
	return int(f), nil
}

// luaNumber is Lua's tonumber on a query value: decimal, with fraction
// and exponent, or hexadecimal.
func luaNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 {
		return 0, false
	}
	if len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X") {
		n, err := strconv.ParseInt(digits[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		if strings.HasPrefix(s, "-") {
			n = -n
		}
		return float64(n), true
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// parseTags reads a tags filter: "a,b" (all of them), "a/b" (any of
// them), with Kong's validation messages under the "options" key.
func parseTags(s string) ([]string, bool, error) {
	if s == "" {
		return nil, false, schema.InvalidOptions(map[string]any{"tags": "cannot be null"})
	}
	var list []string
	or := false
	switch {
	case tagFilter(s, ','):
		list = splitTags(s, ',')
	case tagFilter(s, '/'):
		list, or = splitTags(s, '/'), true
	default:
		return nil, false, schema.InvalidOptions(map[string]any{"tags": "invalid filter syntax"})
	}
	if len(list) > maxTags {
		return nil, false, schema.InvalidOptions(map[string]any{"tags": "cannot query more than 5 tags"})
	}
	if !utf8.ValidString(s) {
		return nil, false, schema.InvalidOptions(map[string]any{"tags": "must only contain printable ascii (except `,` and `/`) or valid utf-8"})
	}
	return list, or, nil
}

// tagByte is Kong's tag character class: printable ASCII except ',' and
// '/', and the bytes of UTF-8 sequences.
func tagByte(b byte) bool {
	return b >= 0x20 && b <= 0x7e && b != ',' && b != '/' || b >= 0x80 && b <= 0xf4
}

// tagFilter matches ^([tag]+(?:sep|$))+$: tags joined by sep, with an
// optional trailing separator.
func tagFilter(s string, sep byte) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch {
		case tagByte(s[i]):
			run++
		case s[i] == sep && run > 0:
			run = 0
		default:
			return false
		}
	}
	return run > 0 || len(s) > 0 && s[len(s)-1] == sep
}

func splitTags(s string, sep byte) []string {
	var out []string
	for t := range strings.SplitSeq(s, string(sep)) {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

// writePage answers a page with its next link: base is the collection's
// path; top-level collections repeat tags and size in it.
func writePage(c echo.Context, data any, offset, base string, lq listQuery, topLevel bool) error {
	p := pageBody{Data: data, Offset: offset}
	if offset != "" {
		next := base + "?offset=" + escapeURI(offset)
		if topLevel && lq.hasTags {
			next += "&tags=" + escapeURI(lq.rawTags)
		}
		if topLevel && lq.hasSize {
			next += "&size=" + url.QueryEscape(lq.rawSize)
		}
		p.Next = &next
	}
	return writeJSON(c, 200, p)
}
