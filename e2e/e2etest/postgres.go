package e2etest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a private Postgres server a scenario may stop and start (the
// machine's shared server is never stopped). It runs from a temporary
// directory on a free port, as the "postgres" user when the tests run as
// root (initdb refuses root). Its methods must be called from the test's
// goroutine.
type Postgres struct {
	dir  string
	addr string
	cred *syscall.Credential
	bin  string

	mu      sync.Mutex
	running bool
}

// StartPostgres creates a database cluster with initdb and starts it; it
// is stopped when the test ends.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin, err := postgresBinDir()
	if err != nil {
		tb.Fatalf("private Postgres: %v", err)
	}
	// Not tb.TempDir: its parent is private to root, and the server may
	// run as another user.
	dir, err := os.MkdirTemp("", "gatehouse-e2e-pg-") //nolint:usetesting // tb.TempDir's parent is private to root
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := &Postgres{dir: dir, addr: FreeAddr(tb), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("private Postgres: running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(p.dir, int(uid), int(gid)); err != nil {
			tb.Fatal(err)
		}
	}
	p.run(tb, "initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "-N", "--no-instructions", "-E", "UTF8")
	tb.Cleanup(func() {
		if p.isRunning() {
			p.pgctl(tb, "stop", "-m", "immediate")
		}
	})
	p.Start(tb)
	return p
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

// Addr is the server's address (127.0.0.1:port).
func (p *Postgres) Addr() string { return p.addr }

// URL is the URL of database db on this server.
func (p *Postgres) URL(db string) string {
	return "postgres://postgres@" + p.addr + "/" + db + "?sslmode=disable"
}

// NewDatabase creates a database and returns its URL.
func (p *Postgres) NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		tb.Fatalf("connect to the private Postgres: %v", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	name := "gatehouse_e2e_" + randomHex(4)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	return p.URL(name)
}

// Start starts the server and waits until it accepts connections.
func (p *Postgres) Start(tb testing.TB) {
	tb.Helper()
	port := strconv.Itoa(Port(p.addr))
	p.pgctl(tb, "start", "-w", "-t", "60", "-l", filepath.Join(p.dir, "server.log"), "-o",
		"-p "+port+" -k "+p.dir+" -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
	p.mu.Lock()
	p.running = true
	p.mu.Unlock()
}

// Stop shuts the server down: sessions are terminated and new
// connections refused, as when a database host goes away.
func (p *Postgres) Stop(tb testing.TB) {
	tb.Helper()
	p.pgctl(tb, "stop", "-w", "-m", "fast")
	p.mu.Lock()
	p.running = false
	p.mu.Unlock()
}

// ServerLog is the server's own log.
func (p *Postgres) ServerLog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
	return string(b)
}

func (p *Postgres) isRunning() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running
}

func (p *Postgres) pgctl(tb testing.TB, args ...string) {
	tb.Helper()
	p.run(tb, "pg_ctl", append([]string{"-D", p.data()}, args...)...)
}

func (p *Postgres) run(tb testing.TB, prog string, args ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Scaled(2*time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, prog), args...) //nolint:gosec // the server's own tools
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %v: %v\n%s\n%s", prog, args, err, out.String(), p.ServerLog())
	}
}

// postgresBinDir finds the directory of initdb and pg_ctl: PATH, else the
// newest /usr/lib/postgresql/<version>/bin.
func postgresBinDir() (string, error) {
	if path, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(path), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, dir := range slices.Backward(dirs) {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found in PATH or /usr/lib/postgresql/*/bin")
}
