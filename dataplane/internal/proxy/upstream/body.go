package upstream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"
)

// Response body framings, as fasthttp's ResponseHeader.ContentLength
// reports them.
const (
	// Chunked is Transfer-Encoding: chunked.
	Chunked = -1
	// UntilClose is a body that ends when the upstream closes.
	UntilClose = -2
)

// Body reads a response body from its connection, framed by its length:
// n >= 0 bytes, Chunked, or UntilClose. It reports a clean end (Done) so
// that the connection can be reused. Each read first moves the
// connection's read deadline readTimeout ahead (Kong's read_timeout is
// between two reads, not for the whole body).
type Body struct {
	c           *Conn
	length      int64 // as given; Chunked or UntilClose
	remaining   int64 // sized: bytes left; chunked: bytes left in the chunk
	readTimeout time.Duration
	done        bool  // the body was read to its clean end
	err         error // a sticky read error
	chunkCRLF   bool  // chunked: a chunk's trailing CRLF is due
	total       int64
}

// Reset makes b read a body of length (n >= 0, Chunked or UntilClose)
// from c. A zero-length body is done at once.
func (b *Body) Reset(c *Conn, length int64, readTimeout time.Duration) {
	*b = Body{c: c, length: length, remaining: max(length, 0), readTimeout: readTimeout}
	if length == 0 {
		b.done = true
	}
}

// Done reports whether the body was read to its clean end.
func (b *Body) Done() bool { return b.done }

// Len is the body's framing length as given to Reset.
func (b *Body) Len() int64 { return b.length }

// Total is the number of body bytes read so far.
func (b *Body) Total() int64 { return b.total }

// Reusable reports whether the connection may carry another request:
// the body ended cleanly and was not close-delimited.
func (b *Body) Reusable() bool { return b.done && b.length != UntilClose }

// Err is the error that stopped the body, if any.
func (b *Body) Err() error { return b.err }

// ErrMalformedChunk is a chunked body that does not follow RFC 9112.
var ErrMalformedChunk = errors.New("malformed chunked encoding")

// maxChunkLine bounds a chunk-size line (with extensions) and a trailer
// line.
const maxChunkLine = 4096

// Read reads body bytes. It returns io.EOF at the clean end, and
// io.ErrUnexpectedEOF when the upstream closes a sized or chunked body
// early.
func (b *Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.readTimeout > 0 && b.c.br.Buffered() == 0 {
		b.c.SetReadDeadline(b.readTimeout)
	}
	var n int
	var err error
	switch {
	case b.length == UntilClose:
		n, err = b.c.br.Read(p)
		if errors.Is(err, io.EOF) {
			b.done = true
		}
	case b.length >= 0:
		n, err = b.readSized(p)
	default:
		n, err = b.readChunked(p)
	}
	b.total += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

func (b *Body) readSized(p []byte) (int, error) {
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.br.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.done = true
		return n, io.EOF
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *Body) readChunked(p []byte) (int, error) {
	br := b.c.br
	for b.remaining == 0 {
		if b.chunkCRLF {
			if err := readCRLF(br); err != nil {
				return 0, err
			}
			b.chunkCRLF = false
		}
		size, err := readChunkSize(br)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			if err := skipTrailers(br); err != nil {
				return 0, err
			}
			b.done = true
			return 0, io.EOF
		}
		b.remaining = size
		b.chunkCRLF = true
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := br.Read(p)
	b.remaining -= int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readLine reads one line ending in LF (CRLF, or a bare LF as RFC 9112
// tolerates), without it, at most maxChunkLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line too long", ErrMalformedChunk)
		}
		return nil, err
	}
	if len(line) > maxChunkLine {
		return nil, fmt.Errorf("%w: line too long", ErrMalformedChunk)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func readCRLF(br *bufio.Reader) error {
	line, err := readLine(br)
	if err != nil {
		return err
	}
	if len(line) != 0 {
		return fmt.Errorf("%w: data after a chunk", ErrMalformedChunk)
	}
	return nil
}

// readChunkSize reads a chunk-size line: hex digits, optional
// whitespace and extensions after ';'.
func readChunkSize(br *bufio.Reader) (int64, error) {
	line, err := readLine(br)
	if err != nil {
		return 0, err
	}
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d, ok := hexValue(line[i])
		if !ok {
			break
		}
		if i >= 15 {
			return 0, fmt.Errorf("%w: chunk size too large", ErrMalformedChunk)
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, fmt.Errorf("%w: no chunk size", ErrMalformedChunk)
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && line[i] != ';' {
		return 0, fmt.Errorf("%w: bad chunk size", ErrMalformedChunk)
	}
	return size, nil
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// skipTrailers reads trailer fields up to the empty line; they are not
// forwarded.
func skipTrailers(br *bufio.Reader) error {
	for range 100 {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: too many trailers", ErrMalformedChunk)
}

// ChunkedWriter writes a request body with chunked transfer coding to w:
// each Write is one chunk; Close writes the last chunk.
type ChunkedWriter struct {
	W *bufio.Writer
}

// Write writes p as one chunk.
func (cw ChunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var hdr [20]byte
	n := len(hdr) - 2
	hdr[n], hdr[n+1] = '\r', '\n'
	for v := len(p); ; v >>= 4 {
		n--
		hdr[n] = "0123456789abcdef"[v&15]
		if v < 16 {
			break
		}
	}
	if _, err := cw.W.Write(hdr[n:]); err != nil {
		return 0, err
	}
	if _, err := cw.W.Write(p); err != nil {
		return 0, err
	}
	if _, err := cw.W.WriteString("\r\n"); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes the last chunk and the empty trailer section.
func (cw ChunkedWriter) Close() error {
	_, err := cw.W.WriteString("0\r\n\r\n")
	return err
}
