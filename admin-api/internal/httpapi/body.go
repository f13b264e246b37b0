package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/admin-api/internal/admin"
)

// maxArgs is the most query or form arguments a request may carry.
const maxArgs = 1000

// bodyKind is how a request body is encoded.
type bodyKind int

const (
	bodyNone bodyKind = iota
	bodyJSON
	bodyForm
	bodyMultipart
	bodyYAML
)

// body is a decoded request body.
type body struct {
	kind bodyKind
	// fields holds a JSON object or the decoded form arguments.
	fields map[string]any
	// raw is the body as received.
	raw []byte
}

var (
	errMultipleContentTypes = errorf(http.StatusBadRequest, "Multiple Content-Type headers not allowed")
	errBadJSON              = errorf(http.StatusBadRequest, "Cannot parse JSON body")
	errBadMultipart         = errorf(http.StatusBadRequest, "Cannot parse multipart body")
	errTooManyArgs          = errorf(http.StatusBadRequest, "Too many arguments")
	errUnsupportedMedia     = &httpError{status: http.StatusUnsupportedMediaType, noBody: true}
)

// readBody reads and decodes the body of a write, as Kong's api helpers
// do: JSON, form-urlencoded and multipart bodies are accepted (and YAML
// ones when yaml is true: /config); any other body is 415; a body larger
// than the limit is 413.
func (a *API) readBody(c echo.Context, yaml bool) (body, error) {
	req := c.Request()
	if len(req.Header.Values(echo.HeaderContentType)) > 1 {
		return body{}, errMultipleContentTypes
	}
	if req.ContentLength > a.maxBody {
		return body{}, &http.MaxBytesError{Limit: a.maxBody}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, a.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return body{}, err
		}
		return body{}, errorf(http.StatusBadRequest, "Cannot read the request body")
	}
	ct := strings.ToLower(strings.TrimSpace(req.Header.Get(echo.HeaderContentType)))
	if len(raw) == 0 {
		return body{kind: bodyNone, fields: map[string]any{}}, nil
	}
	switch {
	case strings.HasPrefix(ct, "application/json"):
		fields, err := decodeJSONObject(raw)
		if err != nil {
			return body{}, err
		}
		return body{kind: bodyJSON, fields: fields, raw: raw}, nil
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		pairs, err := parseURLEncoded(string(raw))
		if err != nil {
			return body{}, err
		}
		return body{kind: bodyForm, fields: decodeArgs(pairs), raw: raw}, nil
	case strings.HasPrefix(ct, "multipart/form-data"):
		pairs, err := parseMultipart(raw, req.Header.Get(echo.HeaderContentType))
		if err != nil {
			return body{}, err
		}
		return body{kind: bodyMultipart, fields: decodeArgs(pairs), raw: raw}, nil
	case yaml && (strings.HasPrefix(ct, "application/yaml") || strings.HasPrefix(ct, "text/yaml") ||
		strings.HasPrefix(ct, "application/x-yaml")):
		return body{kind: bodyYAML, raw: raw}, nil
	}
	return body{}, errUnsupportedMedia
}

// input reads the body of an entity write.
func (a *API) input(c echo.Context) (admin.Input, error) {
	b, err := a.readBody(c, false)
	if err != nil {
		return admin.Input{}, err
	}
	return admin.Input{Fields: b.fields, Form: b.kind == bodyForm || b.kind == bodyMultipart}, nil
}

// decodeJSONObject decodes a JSON object, keeping numbers exact.
func decodeJSONObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, errBadJSON
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errBadJSON
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errBadJSON
	}
	return m, nil
}

// parseMultipart reads the parts of a multipart/form-data body as
// arguments: a part's name and its content, decoded when the part is
// application/json.
func parseMultipart(raw []byte, contentType string) ([]arg, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, errBadMultipart
	}
	r := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	var out []arg
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, errBadMultipart
		}
		if len(out) >= maxArgs {
			return nil, errTooManyArgs
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, errBadMultipart
		}
		name := strings.ToValidUTF8(part.FormName(), "\uFFFD")
		if name == "" {
			continue
		}
		var value any = strings.ToValidUTF8(string(data), "\uFFFD")
		if strings.HasPrefix(strings.ToLower(part.Header.Get("Content-Type")), "application/json") {
			var v any
			d := json.NewDecoder(bytes.NewReader(data))
			d.UseNumber()
			if d.Decode(&v) == nil {
				value = v
			}
		}
		out = append(out, arg{name: name, value: value})
	}
}

// truthy is Kong's reading of flag query arguments (check_hash=1).
func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
