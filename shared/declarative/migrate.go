package declarative

import (
	"maps"
	"strconv"
	"strings"

	"gatehouse.dev/shared/uri"
)

// migrate brings a 1.1 or 2.1 document to 3.0 as Kong's on-the-fly
// migration does (kong/db/declarative/migrations/route_path.lua): the paths
// of top-level routes and of routes nested in top-level services go
// through migratePath. It returns a copy of doc that shares everything
// but the changed routes, so the caller's document is never modified.
func migrate(doc map[string]any) map[string]any {
	v, _ := doc["_format_version"].(string)
	if v != "1.1" && v != "2.1" {
		return doc
	}
	out := maps.Clone(doc)
	out["_format_version"] = "3.0"
	if routes, ok := doc["routes"].([]any); ok {
		out["routes"] = migrateRoutes(routes)
	}
	if services, ok := doc["services"].([]any); ok {
		copied := make([]any, len(services))
		for i, s := range services {
			copied[i] = s
			svc, ok := s.(map[string]any)
			if !ok {
				continue
			}
			routes, ok := svc["routes"].([]any)
			if !ok {
				continue
			}
			c := maps.Clone(svc)
			c["routes"] = migrateRoutes(routes)
			copied[i] = c
		}
		out["services"] = copied
	}
	return out
}

func migrateRoutes(routes []any) []any {
	out := make([]any, len(routes))
	for i, r := range routes {
		out[i] = r
		route, ok := r.(map[string]any)
		if !ok {
			continue
		}
		paths, ok := route["paths"].([]any)
		if !ok {
			continue
		}
		c := maps.Clone(route)
		migrated := make([]any, len(paths))
		for j, p := range paths {
			migrated[j] = p
			if s, ok := p.(string); ok {
				migrated[j] = migratePath(s)
			}
		}
		c["paths"] = migrated
		out[i] = c
	}
	return out
}

// migratePath is kong/db/migrations/migrate_path_280_300.lua: before 3.0 a
// path made only of [a-zA-Z0-9.\-_~/%] was a prefix (now normalized), and
// anything else was a regex (now marked with "~", with its percent-encoded
// triplets decoded one last time).
func migratePath(p string) string {
	if isPlainPath(p) {
		return uri.Normalize(p, true)
	}
	return "~" + normalizeRegex(p)
}

func isPlainPath(p string) bool {
	// PCRE's $ also matches before a final newline.
	p = strings.TrimSuffix(p, "\n")
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if strings.IndexByte(".-_~/%", c) < 0 {
			return false
		}
	}
	return true
}

// Percent-encoded characters that stay encoded (upper-cased), and those
// that are regex metacharacters once decoded and get a backslash.
const (
	reservedChars  = "!#$%&'()*+,/:;=?@[]"
	regexMetaChars = ".^-{}\\|"
)

func normalizeRegex(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && isHexDigit(p[i+1]) && isHexDigit(p[i+2]) {
			n, _ := strconv.ParseUint(p[i+1:i+3], 16, 8)
			c := byte(n)
			switch {
			case strings.IndexByte(reservedChars, c) >= 0:
				b.WriteString(strings.ToUpper(p[i : i+3]))
			case strings.IndexByte(regexMetaChars, c) >= 0:
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
