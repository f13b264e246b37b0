// Package runtest runs `make run` (deploy/run/run.sh: the whole system as
// local processes) from a test and stops it the way a person does, so that
// the README's "run" command is exercised in CI. It knows the runner's
// settings (GATEHOUSE_RUN_* variables), starts `make run` in a process group
// of its own, waits for the runner to say it is up, and checks that stopping
// it leaves no process behind.
package runtest

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Ports are the runner's listening ports (GATEHOUSE_RUN_*_PORT).
type Ports struct {
	Admin, Cluster, HubStatus        int
	DP1Proxy, DP1ProxySSL, DP1Status int
	DP2Proxy, DP2ProxySSL, DP2Status int
	Upstream                         int
}

// Options are the settings of one run.
type Options struct {
	// Root is the repository root (where the Makefile is).
	Root string
	// Bin is the binaries directory (make's BIN, GATEHOUSE_RUN_BIN). It
	// must hold admin-api, sync-hub and dataplane; `make run` builds the
	// demo upstream into it.
	Bin string
	// Dir is the run directory (GATEHOUSE_RUN_DIR).
	Dir string
	// Database is the Postgres database (GATEHOUSE_RUN_DATABASE).
	Database string
	// PGURL is the Postgres server, as GATEHOUSE_TEST_PG_URL gives it; the
	// runner gets its host, port, user and password.
	PGURL string
	// RedisAddr is Redis's host:port.
	RedisAddr string
	// Ports are the listening ports.
	Ports Ports
	// WaitSeconds is GATEHOUSE_RUN_WAIT_SECONDS (0: the runner's default).
	WaitSeconds int
}

// Environ returns the process environment of the run: this process's
// environment without any GATEHOUSE_*, PG*, OTEL_* or make variable (a
// `make test` above this test must not leak its flags into `make run`),
// plus the run's settings.
func (o Options) Environ() ([]string, error) {
	pg, err := url.Parse(o.PGURL)
	if err != nil {
		return nil, fmt.Errorf("parse the Postgres URL: %w", err)
	}
	redisHost, redisPort, err := net.SplitHostPort(o.RedisAddr)
	if err != nil {
		return nil, fmt.Errorf("parse the Redis address: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, "GATEHOUSE_", "PG", "OTEL_", "MAKEFLAGS=", "MAKELEVEL=", "MFLAGS=", "MAKEOVERRIDES=") {
			env = append(env, kv)
		}
	}
	set := func(k, v string) { env = append(env, k+"="+v) }
	set("GATEHOUSE_RUN_BIN", o.Bin)
	set("GATEHOUSE_RUN_DIR", o.Dir)
	set("GATEHOUSE_RUN_DATABASE", o.Database)
	set("PGHOST", pg.Hostname())
	set("PGPORT", orDefault(pg.Port(), "5432"))
	set("PGUSER", orDefault(pg.User.Username(), "postgres"))
	if pw, ok := pg.User.Password(); ok {
		set("PGPASSWORD", pw)
	}
	set("GATEHOUSE_RUN_REDIS_HOST", redisHost)
	set("GATEHOUSE_RUN_REDIS_PORT", redisPort)
	set("GATEHOUSE_RUN_INSTALL", "no")
	if o.WaitSeconds > 0 {
		set("GATEHOUSE_RUN_WAIT_SECONDS", strconv.Itoa(o.WaitSeconds))
	}
	p := o.Ports
	for name, port := range map[string]int{
		"ADMIN": p.Admin, "CLUSTER": p.Cluster, "HUB_STATUS": p.HubStatus,
		"DP1_PROXY": p.DP1Proxy, "DP1_PROXY_SSL": p.DP1ProxySSL, "DP1_STATUS": p.DP1Status,
		"DP2_PROXY": p.DP2Proxy, "DP2_PROXY_SSL": p.DP2ProxySSL, "DP2_STATUS": p.DP2Status,
		"UPSTREAM": p.Upstream,
	} {
		if port == 0 {
			return nil, fmt.Errorf("the %s port is not set", name)
		}
		set("GATEHOUSE_RUN_"+name+"_PORT", strconv.Itoa(port))
	}
	return env, nil
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
