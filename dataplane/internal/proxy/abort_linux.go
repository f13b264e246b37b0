package proxy

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// hungUp reports whether the peer of sc closed its side or the socket
// failed: POLLRDHUP is set even when unread bytes (a pipelined request, a
// TLS close_notify) come before the FIN.
func hungUp(sc syscall.Conn) bool {
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	_ = raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}} //nolint:gosec // a file descriptor fits in int32
		n, err := unix.Poll(fds, 0)
		gone = err == nil && n > 0 && fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
	})
	return gone
}
