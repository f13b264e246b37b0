package runtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DatabaseName returns the name of a database that does not exist yet on
// the server at pgURL, for the runner to create, and drops it (with every
// connection to it) when the test ends.
func DatabaseName(tb testing.TB, pgURL string) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gatehouse_makerun_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return name
}

// DatabaseExists reports whether the server at pgURL has the database.
func DatabaseExists(ctx context.Context, pgURL, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	return exists, err
}
