package config

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, rest, err := Load([]string{"migrate"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0] != "migrate" {
		t.Errorf("rest = %v, want [migrate]", rest)
	}
	if c.PGURL != DefaultPGURL || len(c.Listen) != 1 || c.Listen[0].Addr != DefaultListen || c.SSLListen != nil {
		t.Errorf("listeners/url: %+v", c)
	}
	if c.MaxBodySize != 16<<20 || c.ChangeLogKeepRevisions != 10000 || c.ChangeLogMaxAge != 168*time.Hour ||
		c.LogLevel != LevelNotice || c.Plugins != "bundled" || c.MigrateOnStart || c.Token != "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // substring of the error
	}{
		{
			name: "token required beyond loopback", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "0.0.0.0:8001"},
			want: "GATEHOUSE_ADMIN_TOKEN is required: the Admin API listens on 0.0.0.0:8001",
		},
		{
			name: "token required on empty host", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": ":8001"},
			want: "GATEHOUSE_ADMIN_TOKEN is required",
		},
		{name: "token required for tls listener", env: map[string]string{
			"GATEHOUSE_ADMIN_SSL_LISTEN": "10.0.0.1:8444", "GATEHOUSE_ADMIN_SSL_CERT": "c", "GATEHOUSE_ADMIN_SSL_CERT_KEY": "k",
		}, want: "GATEHOUSE_ADMIN_TOKEN is required"},
		{name: "both off", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "off"}, want: "both off"},
		{
			name: "tls without cert", env: map[string]string{"GATEHOUSE_ADMIN_SSL_LISTEN": "127.0.0.1:8444"},
			want: "GATEHOUSE_ADMIN_SSL_CERT and GATEHOUSE_ADMIN_SSL_CERT_KEY are required",
		},
		{name: "bad listen", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "localhost"}, want: `GATEHOUSE_ADMIN_LISTEN: "localhost": want host:port`},
		{name: "bad port", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "127.0.0.1:99999"}, want: "port \"99999\""},
		{name: "ssl flag", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "127.0.0.1:8444 ssl"}, want: "use GATEHOUSE_ADMIN_SSL_LISTEN"},
		{name: "bad size", env: map[string]string{"GATEHOUSE_ADMIN_MAX_BODY_SIZE": "lots"}, want: "GATEHOUSE_ADMIN_MAX_BODY_SIZE: want a positive size"},
		{name: "bad level", env: map[string]string{"GATEHOUSE_LOG_LEVEL": "loud"}, want: `GATEHOUSE_LOG_LEVEL: "loud" is not a log level`},
		{name: "bad node id", env: map[string]string{"GATEHOUSE_NODE_ID": "node-1"}, want: "GATEHOUSE_NODE_ID"},
		{name: "bad pg url", env: map[string]string{"GATEHOUSE_PG_URL": "mysql://x"}, want: "GATEHOUSE_PG_URL: the scheme must be postgres://"},
		{name: "bad int", env: map[string]string{"GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS": "many"}, want: "GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS"},
		{name: "negative keep", args: []string{"--change-log-keep-revisions=-1"}, want: "must not be negative"},
		{name: "unknown flag", args: []string{"--bogus"}, want: "bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Load(tt.args, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(*Config) bool
	}{
		{
			name: "public listener with token", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "0.0.0.0:8001", "GATEHOUSE_ADMIN_TOKEN": "s3cret"},
			check: func(c *Config) bool { return c.Token == "s3cret" && !c.Listen[0].Loopback() },
		},
		{
			name: "loopback list without token", env: map[string]string{"GATEHOUSE_ADMIN_LISTEN": "127.0.0.1:8001 reuseport backlog=16384, [::1]:8001, localhost:9001"},
			check: func(c *Config) bool { return len(c.Listen) == 3 && c.Listen[1].Loopback() && c.Listen[2].Loopback() },
		},
		{
			name: "tls only", env: map[string]string{
				"GATEHOUSE_ADMIN_LISTEN": "off", "GATEHOUSE_ADMIN_SSL_LISTEN": "127.0.0.1:8444",
				"GATEHOUSE_ADMIN_SSL_CERT": "/c.pem", "GATEHOUSE_ADMIN_SSL_CERT_KEY": "/k.pem",
			},
			check: func(c *Config) bool { return c.Listen == nil && len(c.SSLListen) == 1 },
		},
		{
			name: "flag beats env", env: map[string]string{"GATEHOUSE_LOG_LEVEL": "error"}, args: []string{"--log-level", "debug"},
			check: func(c *Config) bool { return c.LogLevel == slog.LevelDebug },
		},
		{
			name: "sizes", env: map[string]string{"GATEHOUSE_ADMIN_MAX_BODY_SIZE": "512k"},
			check: func(c *Config) bool { return c.MaxBodySize == 512<<10 },
		},
		{
			name: "node id", env: map[string]string{"GATEHOUSE_NODE_ID": "3F0C4B8E-2A5D-4E0F-9C1B-7D6A5E4F3B2A"},
			check: func(c *Config) bool { return c.NodeID == "3f0c4b8e-2a5d-4e0f-9c1b-7d6a5e4f3b2a" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := Load(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c, _, err := Load(nil, env(map[string]string{ //nolint:gosec // G101: a test credential
		"GATEHOUSE_PG_URL":      "postgres://admin:hunter2@db:5432/gatehouse",
		"GATEHOUSE_ADMIN_TOKEN": "s3cret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	red := c.Redacted()
	if red["admin_token"] != "******" {
		t.Errorf("admin_token = %q", red["admin_token"])
	}
	if red["pg_url"] != "postgres://admin:******@db:5432/gatehouse" { //nolint:gosec // G101: the masked form
		t.Errorf("pg_url = %q", red["pg_url"])
	}
	if red["admin_listen"] != DefaultListen {
		t.Errorf("admin_listen = %q", red["admin_listen"])
	}
	for k, v := range red {
		if strings.Contains(v, "hunter2") || strings.Contains(v, "s3cret") {
			t.Errorf("%s leaks a secret: %q", k, v)
		}
	}
}

func TestSecretNotInErrors(t *testing.T) {
	t.Parallel()
	_, _, err := Load([]string{"--admin-token"}, env(nil))
	if err == nil {
		t.Fatal("a flag without its value was accepted")
	}
	if errors.Is(err, ErrHelp) {
		t.Fatal("unexpected help")
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	if _, _, err := Load([]string{"-h"}, env(nil)); !errors.Is(err, ErrHelp) {
		t.Errorf("err = %v, want ErrHelp", err)
	}
	var b strings.Builder
	WriteUsage(&b)
	for _, s := range Settings() {
		if !strings.Contains(b.String(), s.Env) {
			t.Errorf("usage lacks %s", s.Env)
		}
	}
}
