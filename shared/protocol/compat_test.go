package protocol_test

import (
	"log/slog"
	"reflect"
	"testing"

	"gatehouse.dev/shared/protocol"
)

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	normal := protocol.SyncStatusNormal
	incompatible := protocol.SyncStatusKongVersionIncompatible
	tests := []struct {
		name     string
		cp, dp   string
		want     protocol.SyncStatus
		wantMsg  string
		wantInfo string
	}{
		// Kong's unit tests (03-compat_spec.lua), as (cp, dp).
		{"same version", "1.1.2", "1.1.2", normal, "", ""},
		{"patch differs both ways", "1.1.999", "1.1.2222", normal, "", ""},
		{
			"older dp minor", "1.2.0", "1.1.0", normal, "",
			"data plane minor version 1.1.0 is different to control plane minor version 1.2.0",
		},
		{
			"much older dp minor", "1.9999.0", "1.1.33", normal, "",
			"data plane minor version 1.1.33 is different to control plane minor version 1.9999.0",
		},
		{
			"newer dp major", "1.0.0", "2.0.0", incompatible,
			"data plane version 2.0.0 is incompatible with control plane version 1.0.0 (1.x.y are accepted)", "",
		},
		{
			"older dp major", "2.0.0", "1.0.0", incompatible,
			"data plane version 1.0.0 is incompatible with control plane version 2.0.0 (2.x.y are accepted)", "",
		},
		{
			"newer dp minor", "1.0.0", "1.1.0", incompatible,
			"data plane version 1.1.0 is incompatible with older control plane version 1.0.0", "",
		},

		// Unparsable versions, in Kong's order: the CP's is checked first.
		{
			"cp unparsable", "dev", "1.0.0", incompatible,
			"data plane version 1.0.0 is incompatible with control plane version", "",
		},
		{
			"both unparsable", "dev", "also-dev", incompatible,
			"data plane version also-dev is incompatible with control plane version", "",
		},
		{
			"dp unparsable", "3.10.0", "3.10", incompatible,
			"data plane version is incompatible with control plane version 3.10.0 (3.x.y are accepted)", "",
		},
		{
			"dp without patch digits", "3.10.0", "3.10.x", incompatible,
			"data plane version is incompatible with control plane version 3.10.0 (3.x.y are accepted)", "",
		},

		// Suffixes and a fourth part are ignored; the texts quote the
		// versions as given.
		{"dp suffix", "3.10.0", "3.10.0-enterprise-version", normal, "", ""},
		{"cp suffix", "3.10.0-rc.1", "3.10.5", normal, "", ""},
		{"fourth part", "3.10.0.1", "3.10.0.3", normal, "", ""},
		{
			"suffix on an older minor", "3.10.0", "3.9.2-enterprise-edition", normal, "",
			"data plane minor version 3.9.2-enterprise-edition is different to control plane minor version 3.10.0",
		},
		{
			"suffix on a newer minor", "3.10.0-beta", "3.11.0-enterprise-edition", incompatible,
			"data plane version 3.11.0-enterprise-edition is incompatible with older control plane version 3.10.0-beta", "",
		},
		{
			"numeric, not lexical, minor comparison", "3.10.0", "3.9.0", normal, "",
			"data plane minor version 3.9.0 is different to control plane minor version 3.10.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := protocol.CheckVersion(tt.cp, tt.dp)
			want := protocol.VersionCheck{Status: tt.want, Message: tt.wantMsg, Info: tt.wantInfo}
			if got != want {
				t.Errorf("CheckVersion(%q, %q) = %#v, want %#v", tt.cp, tt.dp, got, want)
			}
			if got.Compatible() != (tt.want == normal) {
				t.Errorf("Compatible() = %v", got.Compatible())
			}
		})
	}
}

func TestPluginWarnings(t *testing.T) {
	t.Parallel()
	p := func(name, version string) protocol.PluginInfo {
		return protocol.PluginInfo{Name: name, Version: version}
	}
	cp := []protocol.PluginInfo{
		p("rate-limiting", "3.10.0"), p("acl", "3.10.0"), p("cors", "3.10.0"), p("jwt", "3.10.0"),
		p("key-auth", "3.10.0"), p("custom", ""), p("session", "3.10.0"), p("unversioned", ""),
		p("bad-version", "v3"),
	}
	dp := []protocol.PluginInfo{
		p("acl", "3.10.2"),           // patch only: nothing
		p("cors", "3.8.0"),           // minor: info
		p("jwt", "2.10.0"),           // major: warn
		p("custom", "1.0.0"),         // unversioned on the CP: notice
		p("session", ""),             // unversioned on the DP: notice
		p("unversioned", ""),         // neither: nothing
		p("bad-version", "3.10.0"),   // CP's version unparsable counts as none
		p("extra-on-dp", "3.10.0"),   // not on the CP: nothing
		p("rate-limiting", "3.11.0"), // minor newer: info at connect
	}
	want := []protocol.LogLine{
		{protocol.LevelNotice, "data plane bad-version plugin version 3.10.0 has unspecified version on control plane"},
		{slog.LevelInfo, "data plane cors plugin version 3.8.0 is different to control plane plugin version 3.10.0"},
		{protocol.LevelNotice, "data plane custom plugin version 1.0.0 has unspecified version on control plane"},
		{slog.LevelWarn, "data plane jwt plugin version 2.10.0 is different to control plane plugin version 3.10.0"},
		{slog.LevelWarn, "key-auth plugin 3.10.0 is missing from data plane"},
		{slog.LevelInfo, "data plane rate-limiting plugin version 3.11.0 is different to control plane plugin version 3.10.0"},
		{protocol.LevelNotice, "data plane session plugin version is unspecified, and is different to control plane plugin version 3.10.0"},
	}
	got := protocol.PluginWarnings(cp, dp)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PluginWarnings =\n%v\nwant\n%v", got, want)
	}

	missingUnversioned := protocol.PluginWarnings([]protocol.PluginInfo{p("custom", "")}, nil)
	wantMissing := []protocol.LogLine{{slog.LevelWarn, "custom plugin is missing from data plane"}}
	if !reflect.DeepEqual(missingUnversioned, wantMissing) {
		t.Errorf("PluginWarnings(unversioned, none) = %v, want %v", missingUnversioned, wantMissing)
	}
	if got := protocol.PluginWarnings(cp, cp); got != nil {
		t.Errorf("PluginWarnings(same, same) = %v, want none", got)
	}
	if protocol.LevelNotice <= slog.LevelInfo || protocol.LevelNotice >= slog.LevelWarn {
		t.Errorf("LevelNotice = %v, want between info and warn", protocol.LevelNotice)
	}
}

func TestCheckConfiguredPlugins(t *testing.T) {
	t.Parallel()
	p := func(name, version string) protocol.PluginInfo {
		return protocol.PluginInfo{Name: name, Version: version}
	}
	setIncompatible := protocol.SyncStatusPluginSetIncompatible
	versionIncompatible := protocol.SyncStatusPluginVersionIncompatible
	cp := []protocol.PluginInfo{p("acl", "3.10.0"), p("key-auth", "3.10.0"), p("opentelemetry", "3.10.0"), p("custom", "")}
	tests := []struct {
		name       string
		dp         []protocol.PluginInfo
		configured []string
		want       protocol.SyncStatus
		wantMsg    string
	}{
		{"nothing configured", nil, nil, protocol.SyncStatusNormal, ""},
		{"unconfigured plugins may be missing", []protocol.PluginInfo{p("key-auth", "3.10.0")}, []string{"key-auth"}, protocol.SyncStatusNormal, ""},
		{
			"configured plugin missing",
			[]protocol.PluginInfo{p("acl", "3.10.0")},
			[]string{"key-auth"},
			setIncompatible,
			"configured key-auth plugin 3.10.0 is missing from data plane",
		},
		{
			"configured unversioned plugin missing", nil,
			[]string{"custom"},
			setIncompatible,
			"configured custom plugin is missing from data plane",
		},
		{
			"configured plugin unknown to the CP and missing", nil,
			[]string{"mystery"},
			setIncompatible,
			"configured mystery plugin is missing from data plane",
		},
		{"configured plugin unknown to the CP but loaded", []protocol.PluginInfo{p("mystery", "9.9.9")}, []string{"mystery"}, protocol.SyncStatusNormal, ""},
		{"older dp minor", []protocol.PluginInfo{p("key-auth", "3.0.0")}, []string{"key-auth"}, protocol.SyncStatusNormal, ""},
		{"newer dp patch", []protocol.PluginInfo{p("key-auth", "3.10.1000")}, []string{"key-auth"}, protocol.SyncStatusNormal, ""},
		{
			"newer dp minor",
			[]protocol.PluginInfo{p("key-auth", "3.11.0")},
			[]string{"key-auth"},
			versionIncompatible,
			"configured data plane key-auth plugin version 3.11.0 is different to control plane plugin version 3.10.0",
		},
		{
			"older dp major",
			[]protocol.PluginInfo{p("key-auth", "2.10.0")},
			[]string{"key-auth"},
			versionIncompatible,
			"configured data plane key-auth plugin version 2.10.0 is different to control plane plugin version 3.10.0",
		},
		{"unversioned dp plugin", []protocol.PluginInfo{p("key-auth", "")}, []string{"key-auth"}, protocol.SyncStatusNormal, ""},
		{"opentelemetry 0.1.x accepted", []protocol.PluginInfo{p("opentelemetry", "0.1.7")}, []string{"opentelemetry"}, protocol.SyncStatusNormal, ""},
		{
			"opentelemetry 0.2.x refused",
			[]protocol.PluginInfo{p("opentelemetry", "0.2.0")},
			[]string{"opentelemetry"},
			versionIncompatible,
			"configured data plane opentelemetry plugin version 0.2.0 is different to control plane plugin version 3.10.0",
		},
		{
			"the first failure in name order",
			[]protocol.PluginInfo{p("key-auth", "4.0.0")},
			[]string{"key-auth", "acl", "key-auth"},
			setIncompatible,
			"configured acl plugin 3.10.0 is missing from data plane",
		},
		{
			"version failure before a later missing plugin",
			[]protocol.PluginInfo{p("acl", "3.99.0")},
			[]string{"key-auth", "acl"},
			versionIncompatible,
			"configured data plane acl plugin version 3.99.0 is different to control plane plugin version 3.10.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			configured := append([]string(nil), tt.configured...)
			status, msg := protocol.CheckConfiguredPlugins(cp, tt.dp, configured)
			if status != tt.want || msg != tt.wantMsg {
				t.Errorf("CheckConfiguredPlugins = %q, %q; want %q, %q", status, msg, tt.want, tt.wantMsg)
			}
			if !reflect.DeepEqual(configured, tt.configured) {
				t.Errorf("CheckConfiguredPlugins reordered its argument to %v", configured)
			}
		})
	}
}

// TestKongSyncSpecCases runs the "relaxed compatibility check" cases of
// Kong's 01-sync_spec.lua: a control plane at 2.5.3 with key-auth configured,
// and fake data planes. The check runs as sync-hub runs it: the version rule
// at connect, then the configured-plugin rule before the first push.
func TestKongSyncSpecCases(t *testing.T) {
	t.Parallel()
	const cpVersion = "2.5.3" // MAJOR.MINOR.PATCH
	p := func(name, version string) protocol.PluginInfo {
		return protocol.PluginInfo{Name: name, Version: version}
	}
	cpPlugins := []protocol.PluginInfo{
		p("acl", "2.5.3"), p("cors", "2.5.3"), p("dummy", "9.9.9"), p("key-auth", "2.5.3"), p("rate-limiting", "2.5.3"),
	}
	configured := []string{"key-auth"}
	check := func(dpVersion string, dpPlugins []protocol.PluginInfo) (protocol.SyncStatus, string) {
		if v := protocol.CheckVersion(cpVersion, dpVersion); !v.Compatible() {
			return v.Status, v.Message
		}
		return protocol.CheckConfiguredPlugins(cpPlugins, dpPlugins, configured)
	}
	superset := append([]protocol.PluginInfo{p("banana", "1.1.1")}, cpPlugins...)
	superset = append(superset, p("pineapple", "1.1.2"))
	twoMinorsOlder := append([]protocol.PluginInfo(nil), cpPlugins...)
	twoMinorsOlder[1] = p("cors", "2.3.3") // unconfigured
	twoPatchesOlder := append([]protocol.PluginInfo(nil), cpPlugins...)
	twoPatchesOlder[2] = p("dummy", "9.9.7") // unconfigured

	normal := protocol.SyncStatusNormal
	tests := []struct {
		name      string
		dpVersion string
		dpPlugins []protocol.PluginInfo
		want      protocol.SyncStatus
		wantMsg   string
	}{
		// Allowed: the first frame is configuration.
		{"CP and DP version and plugins matches", cpVersion, cpPlugins, normal, ""},
		{"CP configured plugins list matches DP enabled plugins list", cpVersion, []protocol.PluginInfo{p("key-auth", "2.5.3")}, normal, ""},
		{"CP configured plugins list matches DP enabled plugins major version (older dp plugin)", cpVersion, []protocol.PluginInfo{p("key-auth", "2.0.0")}, normal, ""},
		{"CP has configured plugin with older patch version than in DP enabled plugins", cpVersion, []protocol.PluginInfo{p("key-auth", "2.5.1000")}, normal, ""},
		{"CP and DP minor version mismatches (older dp)", "2.0.3", cpPlugins, normal, ""},
		{"CP and DP patch version mismatches (older dp)", "2.5.0", cpPlugins, normal, ""},
		{"CP and DP patch version mismatches (newer dp)", "2.5.1000", cpPlugins, normal, ""},
		{"CP and DP suffix mismatches", "2.5.3-enterprise-version", cpPlugins, normal, ""},
		{"DP plugin set is a superset of CP", cpVersion, superset, normal, ""},
		{"DP plugin set is a subset of CP", cpVersion, []protocol.PluginInfo{p("key-auth", "2.5.3")}, normal, ""},
		{"CP and DP plugin version matches to major", cpVersion, twoMinorsOlder, normal, ""},
		{"CP and DP plugin version matches to major.minor", cpVersion, twoPatchesOlder, normal, ""},

		// Blocked: configuration withheld, connection kept.
		{
			"CP configured plugin list mismatches DP enabled plugins list", cpVersion,
			[]protocol.PluginInfo{p("banana-plugin", "1.0.0")},
			protocol.SyncStatusPluginSetIncompatible, "configured key-auth plugin 2.5.3 is missing from data plane",
		},
		{
			"CP has configured plugin with older major version than in DP enabled plugins", cpVersion,
			[]protocol.PluginInfo{p("key-auth", "1.0.0")},
			protocol.SyncStatusPluginVersionIncompatible, "configured data plane key-auth plugin version 1.0.0 is different to control plane plugin version 2.5.3",
		},
		{
			"CP has configured plugin with newer minor version than in DP enabled plugins newer", cpVersion,
			[]protocol.PluginInfo{p("key-auth", "1000.0.0")},
			protocol.SyncStatusPluginVersionIncompatible, "configured data plane key-auth plugin version 1000.0.0 is different to control plane plugin version 2.5.3",
		},
		{
			"CP has configured plugin with older minor version than in DP enabled plugins", cpVersion,
			[]protocol.PluginInfo{p("key-auth", "2.1000.0")},
			protocol.SyncStatusPluginVersionIncompatible, "configured data plane key-auth plugin version 2.1000.0 is different to control plane plugin version 2.5.3",
		},

		// Blocked: connection closed.
		{
			"CP and DP major version mismatches", "1.0.0", cpPlugins,
			protocol.SyncStatusKongVersionIncompatible, "data plane version 1.0.0 is incompatible with control plane version 2.5.3 (2.x.y are accepted)",
		},
		{
			"CP and DP minor version mismatches (newer dp)", "2.1000.3", cpPlugins,
			protocol.SyncStatusKongVersionIncompatible, "data plane version 2.1000.3 is incompatible with older control plane version 2.5.3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, msg := check(tt.dpVersion, tt.dpPlugins)
			if status != tt.want || msg != tt.wantMsg {
				t.Errorf("got %q, %q; want %q, %q", status, msg, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestWithheldWarning(t *testing.T) {
	t.Parallel()
	got := protocol.WithheldWarning("configured key-auth plugin 2.5.3 is missing from data plane")
	want := "unable to send updated configuration to data plane: configured key-auth plugin 2.5.3 is missing from data plane"
	if got != want {
		t.Errorf("WithheldWarning = %q, want %q", got, want)
	}
}

func TestSyncStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     protocol.SyncStatus
		valid      bool
		compatible bool
	}{
		{"unknown", true, true},
		{"normal", true, true},
		{"kong_version_incompatible", true, false},
		{"plugin_set_incompatible", true, false},
		{"plugin_version_incompatible", true, false},
		{"filter_set_incompatible", true, true},
		{"", false, true},
		{"Normal", false, true},
	}
	for _, tt := range tests {
		if got := tt.status.Valid(); got != tt.valid {
			t.Errorf("%q.Valid() = %v, want %v", tt.status, got, tt.valid)
		}
		if got := tt.status.Compatible(); got != tt.compatible {
			t.Errorf("%q.Compatible() = %v, want %v", tt.status, got, tt.compatible)
		}
	}
	if got := len(protocol.SyncStatuses()); got != 6 {
		t.Errorf("SyncStatuses has %d values, want 6", got)
	}
}
