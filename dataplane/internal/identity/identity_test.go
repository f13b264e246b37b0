package identity_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse.dev/dataplane/internal/identity"
	"gatehouse.dev/shared/schema"
)

func logger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestNodeIDIsCreatedOnceAndKept(t *testing.T) {
	t.Parallel()
	prefix := filepath.Join(t.TempDir(), "new", "prefix")
	var logs bytes.Buffer
	id, err := identity.NodeID(prefix, logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if !schema.IsUUID(id) {
		t.Fatalf("node id %q is not a UUID", id)
	}
	file := filepath.Join(prefix, identity.FileName)
	if !strings.Contains(logs.String(), "persisting node_id ("+id+") to "+file) {
		t.Errorf("log = %s", logs.String())
	}
	stored, err := os.ReadFile(filepath.Clean(file))
	if err != nil || strings.TrimSpace(string(stored)) != id {
		t.Fatalf("file holds %q (%v), want %s", stored, err, id)
	}
	logs.Reset()
	again, err := identity.NodeID(prefix, logger(&logs))
	if err != nil || again != id {
		t.Fatalf("second start got %q (%v), want the same id %s", again, err, id)
	}
	if !strings.Contains(logs.String(), "restored node_id from the filesystem: "+id) {
		t.Errorf("log = %s", logs.String())
	}
}

func TestInvalidNodeIDIsReplaced(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"not-a-uuid", "", "5a2b0a4c-3d1e-4f6a-9b8c"} {
		t.Run(content, func(t *testing.T) {
			t.Parallel()
			prefix := t.TempDir()
			file := filepath.Join(prefix, identity.FileName)
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			id, err := identity.NodeID(prefix, logger(&logs))
			if err != nil || !schema.IsUUID(id) {
				t.Fatalf("got %q, %v", id, err)
			}
			if !strings.Contains(logs.String(), "file "+file+" contains invalid uuid: \\\""+content+"\\\"") &&
				!strings.Contains(logs.String(), "contains invalid uuid: "+`"`+content+`"`) {
				t.Errorf("log = %s", logs.String())
			}
			stored, _ := os.ReadFile(filepath.Clean(file))
			if strings.TrimSpace(string(stored)) != id {
				t.Errorf("file holds %q, want %s", stored, id)
			}
		})
	}
}

func TestUnusablePrefix(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.NodeID(filepath.Join(file, "prefix"), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a prefix under a file was accepted")
	}
}

func TestHostname(t *testing.T) {
	t.Parallel()
	if identity.Hostname() == "" {
		t.Fatal("empty hostname")
	}
}
