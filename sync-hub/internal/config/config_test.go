package config_test

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/sync-hub/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, rest, err := config.Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Errorf("rest = %v", rest)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"cluster listen", c.ClusterListen, "0.0.0.0:8005"},
		{"status listen", c.StatusListen, "127.0.0.1:8007"},
		{"mtls", c.ClusterMTLS, "shared"},
		{"max payload", c.MaxPayload, 16 << 20},
		{"purge delay", c.PurgeDelay, 14 * 24 * time.Hour},
		{"poll interval", c.PollInterval, 5 * time.Second},
		{"plugins", c.Plugins, "bundled"},
		{"log level", c.LogLevel, "info"},
		{"status enabled", c.StatusEnabled(), true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	host, _ := os.Hostname()
	if !strings.HasPrefix(c.HubID, host+"-") || len(c.HubID) != len(host)+7 {
		t.Errorf("hub id = %q, want %q and six hex digits", c.HubID, host+"-")
	}
	if other, _, _ := config.Load(nil, env(nil)); other.HubID == c.HubID {
		t.Errorf("two default hub ids are equal: %q", c.HubID)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	c, rest, err := config.Load(
		[]string{"--cluster-listen", "127.0.0.1:9005", "--cluster-hub-id=hub-a", "cert"},
		env(map[string]string{
			"GATEHOUSE_CLUSTER_LISTEN":                 "0.0.0.0:1",
			"GATEHOUSE_CLUSTER_MTLS":                   "pki",
			"GATEHOUSE_CLUSTER_CA_CERT":                "/ca.pem",
			"GATEHOUSE_CLUSTER_CRL":                    "/crl.pem",
			"GATEHOUSE_CLUSTER_MAX_PAYLOAD":            "4194304",
			"GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY": "60",
			"GATEHOUSE_CLUSTER_CERT_KEY":               "/key.pem",
			"GATEHOUSE_STATUS_LISTEN":                  "off",
			"GATEHOUSE_PG_URL":                         "postgres://u@db/x",
		}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterListen != "127.0.0.1:9005" || c.HubID != "hub-a" || len(rest) != 1 || rest[0] != "cert" {
		t.Errorf("listen %q hub %q rest %v", c.ClusterListen, c.HubID, rest)
	}
	tc := c.TLS()
	if tc.Mode != "pki" || tc.CA != "/ca.pem" || tc.CRL != "/crl.pem" || tc.Key != "/key.pem" {
		t.Errorf("TLS() = %+v", tc)
	}
	if c.MaxPayload != 4<<20 || c.PurgeDelay != time.Minute || c.StatusEnabled() {
		t.Errorf("max payload %d purge %v status %v", c.MaxPayload, c.PurgeDelay, c.StatusEnabled())
	}
	red := c.Redacted()
	if red["GATEHOUSE_PG_URL"] != "******" || red["GATEHOUSE_CLUSTER_CERT_KEY"] != "******" {
		t.Errorf("secrets shown: %v", red)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"payload below Kong's minimum", map[string]string{"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "4194303"}, "cluster_max_payload must be 4194304 (4MB) or greater"},
		{"purge delay below Kong's minimum", map[string]string{"GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY": "59s"}, "cluster_data_plane_purge_delay must be 60 or greater"},
		{"cluster listen off", map[string]string{"GATEHOUSE_CLUSTER_LISTEN": "off"}, `cluster_listen must be specified when role = "control_plane"`},
		{"log level", map[string]string{"GATEHOUSE_LOG_LEVEL": "loud"}, "GATEHOUSE_LOG_LEVEL: expected one of"},
		{"plugins", map[string]string{"GATEHOUSE_PLUGINS": "banana"}, "GATEHOUSE_PLUGINS: plugin 'banana' is not available"},
		{"poll interval", map[string]string{"GATEHOUSE_CLUSTER_POLL_INTERVAL": "0"}, "GATEHOUSE_CLUSTER_POLL_INTERVAL must be positive"},
		{"bad number", map[string]string{"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "lots"}, `GATEHOUSE_CLUSTER_MAX_PAYLOAD: invalid value "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.Load(nil, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	if _, err := config.New().Parse([]string{"--help"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Parse(--help) = %v, want flag.ErrHelp", err)
	}
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"notice", protocol.LevelNotice},
		{"warn", slog.LevelWarn},
		{"ERROR", slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseLevel(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestREADMEListsSettings keeps the operator's reference in step with the
// declarations.
func TestREADMEListsSettings(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.New().Settings() {
		if !strings.Contains(string(readme), "`"+s.Env+"`") {
			t.Errorf("sync-hub/README.md does not document %s", s.Env)
		}
	}
}
