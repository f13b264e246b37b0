package requesttransformer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
)

// form is a multipart/form-data body as Kong's lua-multipart holds it:
// parts in order, each name indexed to its last part. Editing follows
// that library: get and delete act on the indexed part only, setSimple
// replaces it in place (with a bare Content-Disposition header) or adds
// a part at the end.
type form struct {
	boundary string
	parts    []formPart
}

type formPart struct {
	name    string
	headers []string // raw header lines
	value   string
	unset   bool // set_simple with no value: the part is not written
}

// parseForm reads a multipart body; an error for a body or content type
// that does not parse (the plugin then leaves the body alone).
func parseForm(body []byte, contentType string) (*form, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("parse content type: %w", err)
	}
	f := &form{boundary: params["boundary"]}
	if f.boundary == "" {
		return nil, errors.New("multipart body without boundary")
	}
	if len(body) == 0 {
		return f, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), f.boundary)
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read multipart part: %w", err)
		}
		value, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("read multipart part: %w", err)
		}
		name := p.FormName()
		if name == "" {
			continue // lua-multipart keeps only parts with a name
		}
		f.parts = append(f.parts, formPart{name: name, headers: headerLines(p), value: string(value)})
	}
}

// headerLines writes a part's headers back as lines, Content-Disposition
// first (Go's reader does not keep their order).
func headerLines(p *multipart.Part) []string {
	keys := make([]string, 0, len(p.Header))
	for k := range p.Header {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		switch {
		case a == "Content-Disposition":
			return -1
		case b == "Content-Disposition":
			return 1
		}
		return strings.Compare(a, b)
	})
	var lines []string
	for _, k := range keys {
		for _, v := range p.Header[k] {
			lines = append(lines, k+": "+v)
		}
	}
	return lines
}

// index returns the position of name's indexed (last) part, or -1.
func (f *form) index(name string) int {
	for i, p := range slices.Backward(f.parts) {
		if p.name == name {
			return i
		}
	}
	return -1
}

// get returns name's value and whether the part exists.
func (f *form) get(name string) (string, bool) {
	if i := f.index(name); i >= 0 {
		return f.parts[i].value, true
	}
	return "", false
}

// setSimple replaces name's indexed part or adds one; ok false means no
// value (the part is then left out when writing).
func (f *form) setSimple(name, value string, ok bool) {
	p := formPart{
		name:    name,
		headers: []string{`Content-Disposition: form-data; name="` + name + `"`},
		value:   value,
		unset:   !ok,
	}
	if i := f.index(name); i >= 0 {
		f.parts[i] = p
		return
	}
	f.parts = append(f.parts, p)
}

// delete removes name's indexed part.
func (f *form) delete(name string) {
	if i := f.index(name); i >= 0 {
		f.parts = slices.Delete(f.parts, i, i+1)
	}
}

// bytes writes the body as lua-multipart's tostring does: "" when no
// part has a value.
func (f *form) bytes() []byte {
	var b bytes.Buffer
	for _, p := range f.parts {
		if p.unset {
			continue
		}
		b.WriteString("--" + f.boundary + "\r\n")
		for _, h := range p.headers {
			b.WriteString(h + "\r\n")
		}
		b.WriteString("\r\n" + p.value + "\r\n")
	}
	if b.Len() == 0 {
		return nil
	}
	b.WriteString("--" + f.boundary + "--\r\n")
	return b.Bytes()
}
