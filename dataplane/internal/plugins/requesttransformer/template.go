package requesttransformer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kong renders the values of request-transformer's rules as Penlight
// templates: "$(expr)" is replaced by tostring(expr or ''), where expr is
// Lua evaluated in a sandbox holding headers, query_params, uri_captures
// and shared. Gatehouse runs no Lua; it compiles the subset Kong's
// documentation uses:
//
//	expr    = operand { "or" operand }
//	operand = table ( "." name | "[" string "]" | "[" integer "]" )
//	        | string | integer | "(" expr ")"
//	table   = "headers" | "query_params" | "uri_captures" | "shared"
//
// Strings are quoted with ' or " (with \ escapes). Anything else is an
// error that answers the request with 500, as a template Kong cannot
// render does. A header with several values renders its first (Kong
// renders a Lua table's address), as does a repeated query argument.

// template is a compiled rule value.
type template struct {
	src   string
	parts []part // nil for a constant: src is the value
	err   error  // set when src uses Lua this subset does not support
}

// part is literal text or an expression.
type part struct {
	lit  string
	expr *expr
}

// expr is a chain of operands joined by "or": the first truthy one wins.
type expr struct {
	operands []operand
}

// Tables of the template environment.
const (
	tHeaders     = "headers"
	tQueryParams = "query_params"
	tURICaptures = "uri_captures"
	tShared      = "shared"
)

// operand is a table lookup, or a literal when table is "".
type operand struct {
	table string
	key   string
	lit   string
}

// value is a Lua value as templates see them: nil, a boolean or a string.
type value struct {
	kind int // valNil, valBool, valString
	b    bool
	s    string
}

const (
	valNil = iota
	valBool
	valString
)

func (v value) truthy() bool {
	return v.kind == valString || v.kind == valBool && v.b
}

// tostring renders v as tostring(v or ”): nil and false give "".
func (v value) tostring() string {
	switch {
	case v.kind == valString:
		return v.s
	case v.kind == valBool && v.b:
		return "true"
	default:
		return ""
	}
}

// lookup resolves table lookups for one request.
type lookup interface {
	get(table, key string) value
}

// compile parses a rule value.
func compile(src string) *template {
	t := &template{src: src}
	if !strings.Contains(src, "$(") {
		return t
	}
	rest := src
	for {
		i := strings.Index(rest, "$(")
		if i < 0 {
			break
		}
		end := balanced(rest[i+1:])
		if end < 0 {
			break // Penlight's %b() does not match: the text stays literal
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		body := rest[i+2 : i+1+end]
		e, err := parseExpr(body)
		if err != nil {
			t.err = fmt.Errorf("template %q: %w", src, err)
			return t
		}
		t.parts = append(t.parts, part{expr: e})
		rest = rest[i+2+end:]
	}
	if t.parts == nil {
		return t
	}
	if rest != "" {
		t.parts = append(t.parts, part{lit: rest})
	}
	return t
}

// balanced returns the index of the parenthesis closing s[0] ("("), as
// Lua's %b() finds it, or -1.
func balanced(s string) int {
	depth := 0
	for i := range len(s) {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// render evaluates the template.
func (t *template) render(l lookup) (string, error) {
	if t.err != nil {
		return "", t.err
	}
	if t.parts == nil {
		return t.src, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(p.expr.eval(l).tostring())
	}
	return b.String(), nil
}

func (e *expr) eval(l lookup) value {
	var v value
	for _, o := range e.operands {
		if o.table == "" {
			v = value{kind: valString, s: o.lit}
		} else {
			v = l.get(o.table, o.key)
		}
		if v.truthy() {
			return v
		}
	}
	return v
}

// errUnsupported reports Lua outside the supported subset.
var errUnsupported = errors.New("unsupported expression (Gatehouse renders table lookups, strings and 'or')")

// parser reads one expression.
type parser struct {
	s   string
	pos int
}

func parseExpr(s string) (*expr, error) {
	p := &parser{s: s}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, errUnsupported
	}
	return e, nil
}

func (p *parser) space() {
	for p.pos < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *parser) expr() (*expr, error) {
	e := &expr{}
	for {
		ops, err := p.operand()
		if err != nil {
			return nil, err
		}
		e.operands = append(e.operands, ops...)
		p.space()
		if !p.keyword("or") {
			return e, nil
		}
	}
}

// keyword consumes word when it comes next as a whole word.
func (p *parser) keyword(word string) bool {
	rest := p.s[p.pos:]
	if !strings.HasPrefix(rest, word) {
		return false
	}
	if len(rest) > len(word) && isIdent(rest[len(word)]) {
		return false
	}
	p.pos += len(word)
	return true
}

// operand returns the operands one term contributes: a parenthesised
// "or" chain flattens into its operands, which "or" makes equivalent.
func (p *parser) operand() ([]operand, error) {
	p.space()
	if p.pos == len(p.s) {
		return nil, errUnsupported
	}
	switch c := p.s[p.pos]; {
	case c == '(':
		p.pos++
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos == len(p.s) || p.s[p.pos] != ')' {
			return nil, errUnsupported
		}
		p.pos++
		return e.operands, nil
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return []operand{{lit: s}}, nil
	case '0' <= c && c <= '9':
		return []operand{{lit: p.integer()}}, nil
	case isIdent(c):
		name := p.ident()
		switch name {
		case tHeaders, tQueryParams, tURICaptures, tShared:
		default:
			return nil, errUnsupported
		}
		key, err := p.index()
		if err != nil {
			return nil, err
		}
		return []operand{{table: name, key: key}}, nil
	}
	return nil, errUnsupported
}

// index reads ".name", "[string]" or "[integer]".
func (p *parser) index() (string, error) {
	p.space()
	if p.pos == len(p.s) {
		return "", errUnsupported
	}
	switch p.s[p.pos] {
	case '.':
		p.pos++
		p.space()
		if p.pos == len(p.s) || !isIdent(p.s[p.pos]) || ('0' <= p.s[p.pos] && p.s[p.pos] <= '9') {
			return "", errUnsupported
		}
		return p.ident(), nil
	case '[':
		p.pos++
		p.space()
		var key string
		switch {
		case p.pos < len(p.s) && (p.s[p.pos] == '"' || p.s[p.pos] == '\''):
			s, err := p.str()
			if err != nil {
				return "", err
			}
			key = s
		case p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9':
			key = p.integer()
		default:
			return "", errUnsupported
		}
		p.space()
		if p.pos == len(p.s) || p.s[p.pos] != ']' {
			return "", errUnsupported
		}
		p.pos++
		return key, nil
	}
	return "", errUnsupported
}

func isIdent(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.s) && isIdent(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// integer reads decimal digits; the key is their canonical text ("01"
// is 1, as Lua reads it).
func (p *parser) integer() string {
	start := p.pos
	for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
		p.pos++
	}
	n, err := strconv.ParseUint(p.s[start:p.pos], 10, 64)
	if err != nil {
		return p.s[start:p.pos]
	}
	return strconv.FormatUint(n, 10)
}

// str reads a quoted Lua string with the common escapes.
func (p *parser) str() (string, error) {
	quote := p.s[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case quote:
			return b.String(), nil
		case '\\':
			if p.pos == len(p.s) {
				return "", errUnsupported
			}
			e := p.s[p.pos]
			p.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '"', '\'':
				b.WriteByte(e)
			default:
				return "", errUnsupported
			}
		case '\n':
			return "", errUnsupported
		default:
			b.WriteByte(c)
		}
	}
	return "", errUnsupported
}
