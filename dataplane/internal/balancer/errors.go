package balancer

import (
	"net/http"

	"gatehouse.dev/dataplane/internal/dns"
)

// Error is a failure to find an address for a request, with the HTTP
// status and message Kong answers it with.
type Error struct {
	// Status is the HTTP status of the response: 503 or 500.
	Status int
	// Message is the response's message.
	Message string
	// Err is the cause (a DNS error), if any.
	Err error
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrNoPeer is Kong's 503 when a balancer is unhealthy or has no
// available address. Pick returns this very value, so errors.Is works.
var ErrNoPeer = &Error{Status: http.StatusServiceUnavailable, Message: "failure to get a peer from the ring-balancer"}

// resolveError is Kong's answer to a service host that does not resolve:
// 503 "name resolution failed" when the name does not exist or has no
// records, else 500 with the resolver's error.
func resolveError(host string, err error) *Error {
	if dns.IsNotFound(err) {
		return &Error{Status: http.StatusServiceUnavailable, Message: "name resolution failed", Err: err}
	}
	return &Error{
		Status:  http.StatusInternalServerError,
		Message: "failed the initial dns/balancer resolve for '" + host + "' with: " + err.Error(),
		Err:     err,
	}
}
