package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// contentTypeJSON is the Content-Type of every JSON answer, as Kong sends it.
const contentTypeJSON = "application/json; charset=utf-8"

// writeJSON answers v as JSON without HTML escaping (Kong's cjson does not
// escape <, > and &).
func writeJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return c.Blob(status, contentTypeJSON, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// messageBody is Kong's {"message": ...} body.
type messageBody struct {
	Message string `json:"message"`
}

// pageBody is a page of a collection: data, offset (absent on the last
// page) and next (null on the last page).
type pageBody struct {
	Data   any     `json:"data"`
	Offset string  `json:"offset,omitempty"`
	Next   *string `json:"next"`
}

// param returns a path parameter unescaped, with invalid UTF-8 replaced
// by U+FFFD as JSON bodies have it.
func param(c echo.Context, name string) string {
	return strings.ToValidUTF8(paramBytes(c, name), "\uFFFD")
}

// paramBytes returns a path parameter unescaped, as sent. Echo routes on
// the raw path when the request's path has escapes that its decoded form
// would lose, and its parameters are then still escaped.
func paramBytes(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// rawParam returns a path parameter as it appears in the URL (escaped),
// for building next-page links.
func rawParam(c echo.Context, name string) string {
	if c.Request().URL.RawPath != "" {
		return c.Param(name)
	}
	return url.PathEscape(c.Param(name))
}

// escapeURI is nginx's ngx.escape_uri as Kong uses it for query values:
// every byte but the unreserved characters is percent-encoded.
func escapeURI(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

// noContent answers 204.
func noContent(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
