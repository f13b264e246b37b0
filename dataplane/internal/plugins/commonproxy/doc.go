// Package commonproxy holds the tests of the common plugins (cors,
// correlation-id, ip-restriction, request-termination, the transformers,
// prometheus and opentelemetry) through the real proxy, with real
// upstreams: what a client and a service see of each plugin. It has no
// code of its own.
package commonproxy
