package proxy

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"sync"
	"time"
)

// accessLog writes one JSON line per request, buffered and flushed every
// flushEvery (and when the buffer fills), so that a request never waits
// for the log's write.
type accessLog struct {
	mu  sync.Mutex
	w   *bufio.Writer
	buf sync.Pool
}

const flushEvery = 100 * time.Millisecond

func newAccessLog(w io.Writer) *accessLog {
	a := &accessLog{w: bufio.NewWriterSize(w, 64<<10)}
	a.buf.New = func() any {
		b := make([]byte, 0, 512)
		return &b
	}
	return a
}

// run flushes the log periodically until ctx is done.
func (a *accessLog) run(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.flush()
			return
		case <-t.C:
			a.flush()
		}
	}
}

func (a *accessLog) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.w.Flush()
}

// log writes x's line: time, client ip, method, path, status, body
// sizes, Kong's latencies in milliseconds (kong: the proxy's own time,
// proxy: waiting for the upstream, request: in total), route, service,
// request id, upstream address and consumer.
func (a *accessLog) log(x *exchange, end time.Time) {
	bp := a.buf.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"time":"`...)
	b = end.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","client_ip":"`...)
	b = append(b, x.ipText...)
	b = append(b, `","method":`...)
	b = appendJSONString(b, x.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, b2s(x.request.Header.RequestURI()))
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(x.status), 10)
	b = append(b, `,"request_size":`...)
	b = strconv.AppendInt(b, x.bodyBytes, 10)
	b = append(b, `,"response_size":`...)
	b = strconv.AppendInt(b, x.respBytes, 10)
	l := x.latencies
	b = append(b, `,"latencies":{"kong":`...)
	b = strconv.AppendInt(b, int64((l.Request-l.Upstream)/time.Millisecond), 10)
	b = append(b, `,"proxy":`...)
	b = strconv.AppendInt(b, int64(l.Upstream/time.Millisecond), 10)
	b = append(b, `,"request":`...)
	b = strconv.AppendInt(b, int64(l.Request/time.Millisecond), 10)
	b = append(b, `},"route_id":`...)
	b = appendJSONString(b, x.RouteID())
	b = append(b, `,"service_id":`...)
	b = appendJSONString(b, x.ServiceID())
	b = append(b, `,"request_id":"`...)
	b = append(b, x.rid[:]...)
	b = append(b, `","upstream_addr":`...)
	b = appendJSONString(b, x.upstreamAddr)
	b = append(b, `,"consumer_id":`...)
	consumer := ""
	if x.consumer != nil {
		consumer = x.consumer.ID
	}
	b = appendJSONString(b, consumer)
	b = append(b, "}\n"...)
	a.mu.Lock()
	_, _ = a.w.Write(b)
	a.mu.Unlock()
	*bp = b
	a.buf.Put(bp)
}
