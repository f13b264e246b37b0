// Package storetest gives tests a private, migrated Postgres database on
// the machine's shared server (GATEHOUSE_TEST_PG_URL, default
// postgres://postgres@127.0.0.1:5432/postgres). Each call creates a new
// database and drops it when the test ends, so tests never see each
// other's data and never touch the server itself.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse.dev/shared/store"
)

// AdminURL is the URL of the shared test server.
func AdminURL() string {
	if u := os.Getenv("GATEHOUSE_TEST_PG_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres"
}

// NewDatabase creates an empty database and returns its URL. It is
// dropped at the end of the test.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("connect to test Postgres at %s: %v (start it, or set GATEHOUSE_TEST_PG_URL)", AdminURL(), err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gatehouse_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			tb.Logf("drop test database %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("parse GATEHOUSE_TEST_PG_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewMigrated creates a database, applies the migrations and returns its
// URL.
func NewMigrated(tb testing.TB) string {
	tb.Helper()
	dbURL := NewDatabase(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	defer pool.Close()
	if _, err := store.Migrate(ctx, pool); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return dbURL
}
