package correlationid

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse.dev/dataplane/internal/pdk"
)

// generator makes a correlation id for a request.
type generator func(ctx pdk.Context) string

// generators are Kong's, by config.generator.
var generators = map[string]generator{
	"uuid":         func(pdk.Context) string { return newUUID() },
	"uuid#counter": uuidCounter,
	"tracker":      tracker,
}

const hexDigits = "0123456789abcdef"

// newUUID returns a random (version 4) UUID in lower-case hex, as Kong's
// kong.tools.utils.uuid does. It is not for secrets: the runtime's
// per-thread generator makes it cheap.
func newUUID() string {
	var b [36]byte
	// Correlation ids are not secrets; Kong's are not cryptographic either.
	formatUUID(&b, rand.Uint64(), rand.Uint64()) //nolint:gosec // G404: ids, not secrets
	return string(b[:])
}

// formatUUID writes the UUID of hi and lo, with the version 4 and
// RFC 4122 variant bits set, into b.
func formatUUID(b *[36]byte, hi, lo uint64) {
	hi = hi&^(0xf<<12) | 4<<12 // version 4
	lo = lo&^(3<<62) | 2<<62   // variant 10
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], hi)
	binary.BigEndian.PutUint64(raw[8:], lo)
	j := 0
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&15]
		j += 2
	}
}

// worker holds the process's "uuid#counter" state: Kong keeps one uuid
// and counter per nginx worker; the data plane is one process.
var worker struct {
	once    sync.Once
	uuid    string
	counter atomic.Uint64
}

// uuidCounter returns "<process uuid>#<n>", n counting from 1.
func uuidCounter(pdk.Context) string {
	worker.once.Do(func() { worker.uuid = newUUID() })
	n := worker.counter.Add(1)
	var buf [36 + 1 + 20]byte
	out := append(buf[:0], worker.uuid...)
	out = append(out, '#')
	out = strconv.AppendUint(out, n, 10)
	return string(out)
}

// tracker is Kong's "tracker" generator:
// server_addr-server_port-pid-connection-connection_requests-time, the
// time as Lua prints ngx.now() (seconds with milliseconds, %.14g).
func tracker(ctx pdk.Context) string {
	now := time.Now()
	if !ctx.StartedAt().IsZero() {
		now = ctx.StartedAt()
	}
	c := ctx.Connection()
	b := make([]byte, 0, 64)
	b = append(b, c.ServerAddr...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(c.ServerPort), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(os.Getpid()), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, c.Serial, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, c.Requests, 10)
	b = append(b, '-')
	b = strconv.AppendFloat(b, float64(now.UnixMilli())/1000, 'g', 14, 64)
	return string(b)
}
