package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// conn is one keep-alive client connection.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dial(ctx context.Context, addr string) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 16<<10)}, nil
}

func (c *conn) close() { _ = c.nc.Close() }

// errClosed says the server closed the connection after its response.
var errClosed = errors.New("the server closes the connection")

// do sends req and reads the whole response, returning its status. It
// returns errClosed with the status when the response says the
// connection closes (the caller dials again).
func (c *conn) do(req []byte) (int, error) {
	if _, err := c.nc.Write(req); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	return readResponse(c.r)
}

// readResponse reads one HTTP/1.1 response to a GET from r and discards its
// body.
func readResponse(r *bufio.Reader) (int, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, fmt.Errorf("read status line: %w", err)
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closes := int64(-1), false, false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return status, fmt.Errorf("read header: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil || length < 0 {
				return status, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closes = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		if err := discardChunked(r); err != nil {
			return status, err
		}
	case length >= 0:
		if _, err := r.Discard(int(length)); err != nil {
			return status, fmt.Errorf("read body: %w", err)
		}
	case status == 204 || status == 304 || status/100 == 1:
	default:
		return status, fmt.Errorf("status %d: a body without a length is not supported", status)
	}
	if closes {
		return status, errClosed
	}
	return status, nil
}

// discardChunked reads a chunked body and its trailers.
func discardChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("read chunk size: %w", err)
		}
		size := bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(size, ';'); i >= 0 {
			size = size[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, then the blank line
				line, err := r.ReadSlice('\n')
				if err != nil {
					return fmt.Errorf("read trailer: %w", err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n)); err != nil {
			return fmt.Errorf("read chunk: %w", err)
		}
		if _, err := io.ReadFull(r, make([]byte, 2)); err != nil {
			return fmt.Errorf("read chunk end: %w", err)
		}
	}
}
