package statusapi

import (
	"os"
	"runtime/metrics"
)

// heapObjectsMetric is the bytes of live and not yet swept heap objects:
// what a garbage-collected heap has allocated, as Kong's
// http_allocated_gc reports for a Lua VM.
const heapObjectsMetric = "/memory/classes/heap/objects:bytes"

// ProcessMemory returns the running process as Kong's one worker: its
// process id and the bytes its Go heap has allocated. It reads
// runtime/metrics, which does not stop the world, so a Source's Status
// can call it on every request.
func ProcessMemory() WorkerMemory {
	s := []metrics.Sample{{Name: heapObjectsMetric}}
	metrics.Read(s)
	var heap uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		heap = s[0].Value.Uint64()
	}
	return WorkerMemory{PID: os.Getpid(), Allocated: heap}
}
