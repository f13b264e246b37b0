package settings

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPrecedenceAndErrors(t *testing.T) {
	t.Parallel()
	var listen, token string
	var keep int
	var tls bool
	var age time.Duration
	var plugins []string
	r := New("admin-api")
	r.String(&listen, "GATEHOUSE_ADMIN_LISTEN", "127.0.0.1:8001", "Where the Admin API listens.")
	r.Secret(&token, "GATEHOUSE_ADMIN_TOKEN", "", "Token required in Kong-Admin-Token.")
	r.Int(&keep, "GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS", 10000, "Revisions kept.")
	r.Bool(&tls, "GATEHOUSE_X_TLS", false, "A switch.")
	r.Duration(&age, "GATEHOUSE_CHANGE_LOG_MAX_AGE", 168*time.Hour, "Oldest history kept.")
	r.List(&plugins, "GATEHOUSE_PLUGINS", []string{"bundled"}, "Plugins to load.")

	env := map[string]string{
		"GATEHOUSE_ADMIN_LISTEN":       "0.0.0.0:9001",
		"GATEHOUSE_ADMIN_TOKEN":        "s3cret",
		"GATEHOUSE_CHANGE_LOG_MAX_AGE": "3600",
		"GATEHOUSE_X_TLS":              "on",
		"GATEHOUSE_PLUGINS":            "key-auth, acl",
	}
	rest, err := r.Parse([]string{"--admin-listen", "127.0.0.1:7001", "--change-log-keep-revisions=5", "migrate"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1:7001" || keep != 5 || !tls || age != time.Hour || token != "s3cret" ||
		strings.Join(plugins, "|") != "key-auth|acl" || len(rest) != 1 || rest[0] != "migrate" {
		t.Errorf("got listen=%s keep=%d tls=%v age=%v plugins=%v rest=%v", listen, keep, tls, age, plugins, rest)
	}
	red := r.Redacted()
	if red["GATEHOUSE_ADMIN_TOKEN"] != "******" || red["GATEHOUSE_ADMIN_LISTEN"] != "127.0.0.1:7001" {
		t.Errorf("Redacted = %v", red)
	}

	bad := New("x")
	var n int
	var secret string
	bad.Int(&n, "GATEHOUSE_N", 1, "n")
	bad.Secret(&secret, "GATEHOUSE_S", "", "s")
	if _, err := bad.Parse(nil, func(k string) string { return map[string]string{"GATEHOUSE_N": "ten"}[k] }); err == nil ||
		err.Error() != `GATEHOUSE_N: invalid value "ten": expected an integer` {
		t.Errorf("bad int: %v", err)
	}
	if _, err := bad.Parse([]string{"--bogus"}, func(string) string { return "" }); err == nil {
		t.Error("unknown flag accepted")
	}
	var d time.Duration
	dd := New("y")
	dd.Duration(&d, "GATEHOUSE_D", 0, "d")
	if _, err := dd.Parse(nil, func(string) string { return "-5" }); err == nil {
		t.Error("negative duration accepted")
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	var a string
	r := New("svc")
	r.String(&a, "GATEHOUSE_A", "", "The A.")
	var b bytes.Buffer
	r.WriteUsage(&b)
	if got := b.String(); got != "  GATEHOUSE_A, --a\n      The A. Default: (none)\n" {
		t.Errorf("usage %q", got)
	}
}
