package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gatehouse.dev/dataplane/internal/lkg"
)

// SocketName is the control socket's name in the prefix. A running data
// plane holds its cache (Pebble locks the directory), so `dataplane cache
// export` asks it, through this socket, to write the copy.
const SocketName = "dataplane.sock"

// maxRequest bounds a control request line.
const maxRequest = 4096

// serveControl answers export requests on the control socket until ctx is
// done. A socket that cannot be created is logged, not fatal: export then
// needs the data plane stopped.
func (a *Agent) serveControl(ctx context.Context) {
	path := filepath.Join(a.cfg.Prefix, SocketName)
	ln, err := listenUnix(ctx, path)
	if err != nil {
		a.log.Warn(fmt.Sprintf("control socket %s: %v; `dataplane cache export` will need the data plane stopped", path, err))
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	defer func() { _ = os.Remove(path) }()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Go(func() {
			defer func() { _ = conn.Close() }()
			a.answer(ctx, conn)
		})
	}
}

// listenUnix listens on path, owner-only, replacing a stale socket left by
// a data plane that did not stop cleanly (never a live one: the cache lock
// already ensures one data plane per prefix).
func listenUnix(ctx context.Context, path string) (net.Listener, error) {
	if _, err := os.Lstat(path); err == nil {
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}

// answer serves one request: "export <absolute dir>\n", answered "ok\n"
// or "error: <message>\n".
func (a *Agent) answer(ctx context.Context, conn net.Conn) {
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	line, err := bufio.NewReader(io.LimitReader(conn, maxRequest)).ReadString('\n')
	if err != nil {
		return
	}
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	var result error
	switch {
	case verb != "export":
		result = fmt.Errorf("unknown request %q", verb)
	case !filepath.IsAbs(arg):
		result = errors.New("export needs an absolute directory")
	default:
		result = a.store.Export(ctx, arg)
		if result == nil {
			a.log.Info("exported the cache to "+arg, slog.String("dir", arg))
		}
	}
	reply := "ok\n"
	if result != nil {
		reply = "error: " + strings.ReplaceAll(result.Error(), "\n", " ") + "\n"
	}
	_, _ = io.WriteString(conn, reply)
}

// ErrNotRunning reports that no data plane answers on the prefix's
// control socket.
var ErrNotRunning = errors.New("no data plane is running in this prefix")

// ExportCache writes a consistent copy of the cache in prefix to dir
// (which must not exist): through the data plane running in prefix if
// there is one, else by opening the cache itself, with key when it is
// encrypted. The copy is refused when the cache holds no configuration or
// is damaged; nothing in prefix is changed.
func ExportCache(ctx context.Context, prefix, dir string, key []byte) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("export directory: %w", err)
	}
	err = requestExport(ctx, prefix, abs)
	if !errors.Is(err, ErrNotRunning) {
		return err
	}
	cacheDir := filepath.Join(prefix, CacheDir)
	if _, err := os.Stat(cacheDir); err != nil {
		return fmt.Errorf("no cache in %s: %w", prefix, err)
	}
	store, err := lkg.Open(ctx, cacheDir, lkg.Options{Key: key, NoRepair: true})
	if err != nil {
		return err
	}
	defer func() { _ = store.Close() }()
	if _, _, ok := store.Load(); !ok {
		return fmt.Errorf("the cache in %s holds no configuration", prefix)
	}
	return store.Export(ctx, abs)
}

// requestExport asks the data plane running in prefix to export to dir.
func requestExport(ctx context.Context, prefix, dir string) error {
	path := filepath.Join(prefix, SocketName)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := io.WriteString(conn, "export "+dir+"\n"); err != nil {
		return fmt.Errorf("ask the running data plane: %w", err)
	}
	reply, err := bufio.NewReader(io.LimitReader(conn, maxRequest)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("ask the running data plane: %w", err)
	}
	reply = strings.TrimSpace(reply)
	if reply == "ok" {
		return nil
	}
	return fmt.Errorf("the running data plane: %s", strings.TrimPrefix(reply, "error: "))
}
