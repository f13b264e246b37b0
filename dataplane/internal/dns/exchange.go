package dns

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// udpSize is the largest UDP response read. Queries carry no EDNS0
// option, so servers answer at most 512 bytes over UDP; a longer answer
// is truncated and asked again over TCP.
const udpSize = 1232

// exchange sends one query to server and returns the response, over UDP
// first and over TCP when the UDP answer is truncated.
func (c *Client) exchange(ctx context.Context, server string, name dnsmessage.Name, t dnsmessage.Type) (*dnsmessage.Message, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	id, query, err := newQuery(name, t)
	if err != nil {
		return nil, err
	}
	msg, err := exchangeUDP(ctx, server, id, query)
	if err == nil && msg.Truncated {
		msg, err = exchangeTCP(ctx, server, id, query)
	}
	if err != nil {
		return nil, err
	}
	if len(msg.Questions) != 1 || msg.Questions[0].Type != t ||
		!strings.EqualFold(msg.Questions[0].Name.String(), name.String()) {
		return nil, errors.New("response to another question")
	}
	return msg, nil
}

func newQuery(name dnsmessage.Name, t dnsmessage.Type) (uint16, []byte, error) {
	var b [2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	id := binary.BigEndian.Uint16(b[:])
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: name, Type: t, Class: dnsmessage.ClassINET}},
	}
	q, err := m.Pack()
	if err != nil {
		return 0, nil, fmt.Errorf("pack query: %w", err)
	}
	return id, q, nil
}

// connect dials server and ties the connection's deadline to ctx.
func connect(ctx context.Context, network, server string) (net.Conn, func(), error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, server)
	if err != nil {
		return nil, nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return conn, func() {
		stop()
		_ = conn.Close()
	}, nil
}

func exchangeUDP(ctx context.Context, server string, id uint16, query []byte) (*dnsmessage.Message, error) {
	conn, done, err := connect(ctx, "udp", server)
	if err != nil {
		return nil, err
	}
	defer done()
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, udpSize)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		var m dnsmessage.Message
		if err := m.Unpack(buf[:n]); err != nil || m.ID != id || !m.Response {
			continue // not our answer (a late or forged datagram): keep waiting
		}
		return &m, nil
	}
}

func exchangeTCP(ctx context.Context, server string, id uint16, query []byte) (*dnsmessage.Message, error) {
	conn, done, err := connect(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	defer done()
	framed := make([]byte, 2+len(query))
	binary.BigEndian.PutUint16(framed, uint16(len(query))) //nolint:gosec // G115: a query is far below 64 KiB
	copy(framed[2:], query)
	if _, err := conn.Write(framed); err != nil {
		return nil, err
	}
	var size [2]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, err
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf); err != nil {
		return nil, fmt.Errorf("unpack response: %w", err)
	}
	if m.ID != id || !m.Response {
		return nil, errors.New("response with another id")
	}
	return &m, nil
}
