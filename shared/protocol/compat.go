package protocol

import (
	"log/slog"
	"slices"
	"strconv"

	"gatehouse.dev/shared/version"
)

// SyncStatus is a data plane's sync_status, as Kong reports it in
// /clustering/data-planes.
type SyncStatus string

// The sync_status values (Kong's CLUSTERING_SYNC_STATUS).
const (
	SyncStatusUnknown                   SyncStatus = "unknown"
	SyncStatusNormal                    SyncStatus = "normal"
	SyncStatusKongVersionIncompatible   SyncStatus = "kong_version_incompatible"
	SyncStatusPluginSetIncompatible     SyncStatus = "plugin_set_incompatible"
	SyncStatusPluginVersionIncompatible SyncStatus = "plugin_version_incompatible"
	SyncStatusFilterSetIncompatible     SyncStatus = "filter_set_incompatible"
)

// SyncStatuses lists every SyncStatus value, in Kong's order.
func SyncStatuses() []SyncStatus {
	return []SyncStatus{
		SyncStatusUnknown, SyncStatusNormal, SyncStatusKongVersionIncompatible,
		SyncStatusPluginSetIncompatible, SyncStatusPluginVersionIncompatible,
		SyncStatusFilterSetIncompatible,
	}
}

// Valid reports whether s is one of the SyncStatus values.
func (s SyncStatus) Valid() bool {
	return slices.Contains(SyncStatuses(), s)
}

// Compatible reports the value of Kong's data_plane_version_compatible
// gauge: false for the kong version and plugin incompatibilities, true
// otherwise (filter_set_incompatible included, as in Kong).
func (s SyncStatus) Compatible() bool {
	switch s {
	case SyncStatusKongVersionIncompatible, SyncStatusPluginSetIncompatible, SyncStatusPluginVersionIncompatible:
		return false
	case SyncStatusUnknown, SyncStatusNormal, SyncStatusFilterSetIncompatible:
		return true
	}
	return true
}

// LevelNotice is the slog level of Kong's notice log lines, between info and
// warn.
const LevelNotice = slog.LevelInfo + 2

// LogLine is a line the control plane logs about a data plane: the level and
// Kong's exact text, without Kong's "[clustering] " prefix or the data-plane
// suffix.
type LogLine struct {
	Level   slog.Level
	Message string
}

// VersionCheck is the outcome of [CheckVersion].
type VersionCheck struct {
	// Status is SyncStatusNormal or SyncStatusKongVersionIncompatible.
	Status SyncStatus
	// Message says why the data plane is refused; empty when Status is
	// normal. The control plane logs it at error level and closes.
	Message string
	// Info is set, for an accepted data plane whose minor version differs
	// (is older), to the text Kong logs at info level.
	Info string
}

// Compatible reports whether the data plane may stay connected.
func (v VersionCheck) Compatible() bool {
	return v.Status == SyncStatusNormal
}

// CheckVersion applies Kong's version rule to a data plane connecting to a
// control plane. Only the leading major.minor.patch of each version counts:
// major versions must be equal, the data plane's minor must not be newer, and
// patch versions (and any suffix) are ignored. The checks and texts follow
// Kong's order: control-plane version unparsable, data-plane version
// unparsable, majors differ, data-plane minor newer.
func CheckVersion(cpVersion, dpVersion string) VersionCheck {
	cp, cpErr := version.Parse(cpVersion)
	if cpErr != nil {
		return incompatibleVersion("data plane version " + dpVersion + " is incompatible with control plane version")
	}
	cpMajor := strconv.Itoa(cp.Major)
	dp, dpErr := version.Parse(dpVersion)
	if dpErr != nil {
		return incompatibleVersion("data plane version is incompatible with control plane version " +
			cpVersion + " (" + cpMajor + ".x.y are accepted)")
	}
	if cp.Major != dp.Major {
		return incompatibleVersion("data plane version " + dpVersion + " is incompatible with control plane version " +
			cpVersion + " (" + cpMajor + ".x.y are accepted)")
	}
	if cp.Minor < dp.Minor {
		return incompatibleVersion("data plane version " + dpVersion +
			" is incompatible with older control plane version " + cpVersion)
	}
	v := VersionCheck{Status: SyncStatusNormal}
	if cp.Minor != dp.Minor {
		v.Info = "data plane minor version " + dpVersion + " is different to control plane minor version " + cpVersion
	}
	return v
}

func incompatibleVersion(msg string) VersionCheck {
	return VersionCheck{Status: SyncStatusKongVersionIncompatible, Message: msg}
}

// pluginVersion is a plugin's version as Kong's compatibility checks see it:
// ok is false when the version is missing or has no major.minor.patch, and
// such a plugin counts as having no version.
type pluginVersion struct {
	text         string
	major, minor int
	ok           bool
}

func parsePluginVersion(s string) pluginVersion {
	v, err := version.Parse(s)
	if err != nil {
		return pluginVersion{}
	}
	return pluginVersion{text: s, major: v.Major, minor: v.Minor, ok: true}
}

// pluginMap indexes plugins by name; a later duplicate wins, as in Kong.
func pluginMap(plugins []PluginInfo) map[string]pluginVersion {
	m := make(map[string]pluginVersion, len(plugins))
	for _, p := range plugins {
		m[p.Name] = parsePluginVersion(p.Version)
	}
	return m
}

// sortedPluginNames returns the distinct plugin names in order.
func sortedPluginNames(plugins []PluginInfo) []string {
	names := make([]string, 0, len(plugins))
	for _, p := range plugins {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// PluginWarnings returns the lines Kong logs when a data plane connects,
// comparing every plugin loaded on the control plane with the data plane's
// (in plugin name order). They never block the data plane:
//   - missing on the data plane: warn "<name> plugin <cpVer> is missing from
//     data plane" (without the version when the control plane's has none);
//   - major versions differ: warn "data plane <name> plugin version <dpVer>
//     is different to control plane plugin version <cpVer>";
//   - same major, minor versions differ: the same text at info;
//   - only one side has a version: a notice.
//
// Patch differences log nothing.
func PluginWarnings(cpPlugins, dpPlugins []PluginInfo) []LogLine {
	cpMap, dpMap := pluginMap(cpPlugins), pluginMap(dpPlugins)
	var lines []LogLine
	for _, name := range sortedPluginNames(cpPlugins) {
		cp := cpMap[name]
		dp, loaded := dpMap[name]
		switch {
		case !loaded && cp.ok:
			lines = append(lines, LogLine{slog.LevelWarn, name + " plugin " + cp.text + " is missing from data plane"})
		case !loaded:
			lines = append(lines, LogLine{slog.LevelWarn, name + " plugin is missing from data plane"})
		case cp.ok && dp.ok:
			msg := "data plane " + name + " plugin version " + dp.text +
				" is different to control plane plugin version " + cp.text
			if cp.major != dp.major {
				lines = append(lines, LogLine{slog.LevelWarn, msg})
			} else if cp.minor != dp.minor {
				lines = append(lines, LogLine{slog.LevelInfo, msg})
			}
		case dp.ok:
			lines = append(lines, LogLine{LevelNotice, "data plane " + name + " plugin version " + dp.text +
				" has unspecified version on control plane"})
		case cp.ok:
			lines = append(lines, LogLine{LevelNotice, "data plane " + name +
				" plugin version is unspecified, and is different to control plane plugin version " + cp.text})
		}
	}
	return lines
}

// CheckConfiguredPlugins applies Kong's configuration-compatibility rule
// before configuration is sent: every configured plugin (a plugin name used
// by the configuration's plugins) must be loaded on the data plane, and when
// both sides have a version, with the same major and a minor not newer than
// the control plane's; patch versions are ignored, and an opentelemetry
// plugin at data-plane version 0.1.x is always accepted. Configured plugins
// are checked in name order and the first failure is returned:
//   - missing: "configured <name> plugin <cpVer> is missing from data plane"
//     (without the version when the control plane has none), with
//     SyncStatusPluginSetIncompatible;
//   - version: "configured data plane <name> plugin version <dpVer> is
//     different to control plane plugin version <cpVer>", with
//     SyncStatusPluginVersionIncompatible.
//
// Otherwise it returns SyncStatusNormal and "". A configured plugin that the
// control plane has not loaded counts as having no version there (Kong skips
// it; refusing a data plane that cannot run it is the safer choice). On
// failure the control plane logs [WithheldWarning] of the text, sends no
// configuration and keeps the connection.
func CheckConfiguredPlugins(cpPlugins, dpPlugins []PluginInfo, configured []string) (SyncStatus, string) {
	cpMap, dpMap := pluginMap(cpPlugins), pluginMap(dpPlugins)
	names := slices.Clone(configured)
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		cp := cpMap[name]
		dp, loaded := dpMap[name]
		if !loaded {
			if cp.ok {
				return SyncStatusPluginSetIncompatible, "configured " + name + " plugin " + cp.text + " is missing from data plane"
			}
			return SyncStatusPluginSetIncompatible, "configured " + name + " plugin is missing from data plane"
		}
		if !cp.ok || !dp.ok {
			continue
		}
		if name == "opentelemetry" && dp.major == 0 && dp.minor == 1 {
			continue
		}
		if cp.major != dp.major || cp.minor < dp.minor {
			return SyncStatusPluginVersionIncompatible, "configured data plane " + name + " plugin version " + dp.text +
				" is different to control plane plugin version " + cp.text
		}
	}
	return SyncStatusNormal, ""
}

// WithheldWarning returns the warning Kong's control plane logs when it
// withholds configuration from a data plane: "unable to send updated
// configuration to data plane: <msg>".
func WithheldWarning(msg string) string {
	return "unable to send updated configuration to data plane: " + msg
}
