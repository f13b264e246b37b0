// Package identity gives the data plane its persistent node id and its
// host name, as Kong's data planes keep theirs (kong/pdk/private/node.lua):
// the id is created once, kept in <prefix>/node_id, and survives restarts,
// so the control plane sees the same node with a newer last_seen.
package identity

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gatehouse.dev/shared/schema"
)

// FileName is the node id file's name in the prefix.
const FileName = "node_id"

// NodeID returns the node id kept in prefix, creating the prefix and the
// file when missing, and replacing a file that does not hold a UUID. It
// logs Kong's lines: "persisting node_id (<id>) to <file>" when it writes
// one, "file <file> contains invalid uuid: <value>" before replacing one,
// and "restored node_id from the filesystem: <id>" when it reads one.
func NodeID(prefix string, log *slog.Logger) (string, error) {
	if err := os.MkdirAll(prefix, 0o750); err != nil {
		return "", fmt.Errorf("create prefix: %w", err)
	}
	path := filepath.Join(prefix, FileName)
	raw, err := os.ReadFile(filepath.Clean(path))
	switch {
	case err == nil:
		id := strings.ToLower(strings.TrimSpace(string(raw)))
		if schema.IsUUID(id) {
			log.Debug("restored node_id from the filesystem: " + id)
			return id, nil
		}
		log.Warn(fmt.Sprintf("file %s contains invalid uuid: %q", path, string(raw)))
	case errors.Is(err, fs.ErrNotExist):
	default:
		return "", fmt.Errorf("read node id: %w", err)
	}
	id := schema.NewUUID()
	log.Debug(fmt.Sprintf("persisting node_id (%s) to %s", id, path))
	if err := writeFile(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("persist node_id to %s: %w", path, err)
	}
	return id, nil
}

// writeFile replaces path atomically: a temporary file in the same
// directory, synced, then renamed over it.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Hostname is the host name the data plane reports: os.Hostname, or
// "unknown" when the system has none.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}
