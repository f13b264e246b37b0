// Package loadgen measures HTTP/1.1 latency through a proxy the way the
// bench report needs it: sequential requests on one keep-alive connection
// (the latency of an unloaded proxy), and an open-loop load at a fixed
// rate over a pool of keep-alive connections (latency at a known load,
// which wrk's closed loop cannot give). It speaks just enough HTTP/1.1 to
// do that cheaply: pre-encoded GET requests, responses framed by
// Content-Length or chunked encoding.
package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Request is one GET request of a rotation: a path and extra headers.
type Request struct {
	Path   string
	Header [][2]string
}

// ParseRequests reads a rotation, one request per line: the path, then
// optional headers as TAB-separated "Name: value" fields. Blank lines and
// lines starting with # are skipped.
func ParseRequests(r io.Reader) ([]Request, error) {
	var out []Request
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		req := Request{Path: fields[0]}
		if !strings.HasPrefix(req.Path, "/") {
			return nil, fmt.Errorf("line %d: path %q does not start with /", line, req.Path)
		}
		for _, f := range fields[1:] {
			name, value, ok := strings.Cut(f, ":")
			if !ok || strings.TrimSpace(name) == "" {
				return nil, fmt.Errorf("line %d: header %q is not Name: value", line, f)
			}
			req.Header = append(req.Header, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
		}
		out = append(out, req)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read requests: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("no requests")
	}
	return out, nil
}

// encode returns the request's bytes on the wire for host.
func (r Request) encode(host string) []byte {
	var b strings.Builder
	b.WriteString("GET " + r.Path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: gatehouse-benchtool\r\n")
	for _, h := range r.Header {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}
