package dns

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Type is the record type an answer came from.
type Type string

// The record types the resolver asks for.
const (
	TypeA    Type = "A"
	TypeAAAA Type = "AAAA"
	TypeSRV  Type = "SRV"
)

// Record is one resolved address. For an SRV answer each address of each
// SRV target is one Record carrying the SRV record's port, weight,
// priority and target name; for A and AAAA answers those are zero.
type Record struct {
	Addr     netip.Addr
	Port     uint16
	Weight   uint16
	Priority uint16
	Target   string
}

// Answer is the resolution of a name. Records are sorted (by priority,
// target, address and port) so that equal answers compare equal.
type Answer struct {
	Type    Type
	Records []Record
	// TTL is how long the answer may be cached: the smallest TTL of the
	// records it was made from.
	TTL time.Duration
}

// Equal reports whether a and b hold the same type and records (TTLs
// are not compared).
func (a Answer) Equal(b Answer) bool {
	return a.Type == b.Type && slices.Equal(a.Records, b.Records)
}

func sortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int {
		return cmp.Or(
			cmp.Compare(a.Priority, b.Priority),
			cmp.Compare(a.Target, b.Target),
			a.Addr.Compare(b.Addr),
			cmp.Compare(a.Port, b.Port),
		)
	})
}

// Error is a resolution failure, with the texts of Kong's DNS client:
// "dns server error: <rcode> <name>" for an error answer,
// "dns client error: <code> <text>" otherwise.
type Error struct {
	// Server is true for an error the server answered (an rcode), false
	// for one of the client (no records, no answer).
	Server bool
	Code   int
	Text   string
	// Err is the underlying cause, if any (a network error).
	Err error
}

// Error returns Kong's text of the error.
func (e *Error) Error() string {
	kind := "dns client error: "
	if e.Server {
		kind = "dns server error: "
	}
	return kind + strconv.Itoa(e.Code) + " " + e.Text
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Kong's DNS client error codes.
const (
	codeNameError = 3   // rcode NXDOMAIN
	codeEmpty     = 101 // no records of the asked types
	codeFailed    = 103 // no server answered (Kong: "dns lookup pool exceeded retries")
)

func errNameError() *Error { return &Error{Server: true, Code: codeNameError, Text: "name error"} }
func errEmpty() *Error     { return &Error{Code: codeEmpty, Text: "empty record received"} }

// rcodeText names the server error codes as Kong's DNS client does.
var rcodeText = map[int]string{
	1: "format error",
	2: "server failure",
	3: "name error",
	4: "not implemented",
	5: "refused",
}

func errRcode(code int) *Error {
	text, ok := rcodeText[code]
	if !ok {
		text = "unknown"
	}
	return &Error{Server: true, Code: code, Text: text}
}

// IsNotFound reports whether err says the name does not resolve (it does
// not exist, or has no records of the asked types), as opposed to a
// failure to get an answer. Kong answers the former with 503 "name
// resolution failed".
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return (e.Server && e.Code == codeNameError) || (!e.Server && e.Code == codeEmpty)
}
