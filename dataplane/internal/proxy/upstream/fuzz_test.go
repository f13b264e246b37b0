package upstream

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http/httputil"
	"testing"
)

// FuzzChunked checks the chunked body reader never panics, and that what
// it accepts decodes to what the standard library's chunked reader gives.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"))
	f.Add([]byte("ffffffffffffffffff\r\n"))
	f.Add([]byte("1\nx\n0\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		defer func() { _ = client.Close() }()
		go func() {
			_, _ = server.Write(data)
			_ = server.Close()
		}()
		c := &Conn{nc: client, br: bufio.NewReaderSize(client, 64)}
		var b Body
		b.Reset(c, Chunked, 0)
		got, err := io.ReadAll(&b)
		if err != nil || !b.Done() {
			return
		}
		want, werr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data)))
		if werr == nil && !bytes.Equal(got, want) {
			t.Errorf("decoded %q, the standard library %q", got, want)
		}
	})
}
