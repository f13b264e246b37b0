package statusapi_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"

	statusapi "gatehouse.dev/status-api"
)

// TestStatusUnitScale checks ?unit= and ?scale= against Kong's
// bytes_to_str examples (spec/01-unit/05-utils_spec.lua) for a worker
// with 5497558 bytes, and Kong's 400 messages.
func TestStatusUnitScale(t *testing.T) {
	t.Parallel()
	h := statusapi.Handler(newFakeSource(), statusapi.Options{})
	tests := []struct {
		query   string
		want    string // workers_lua_vms[0].http_allocated_gc
		wantErr string // 400 message
	}{
		{query: "", want: "5.24 MiB"},
		{query: "?unit=m", want: "5.24 MiB"},
		{query: "?unit=M", want: "5.24 MiB"},
		{query: "?unit=b", want: "5497558"},
		{query: "?unit=B", want: "5497558"},
		{query: "?unit=", want: "5497558"},
		{query: "?unit=b&scale=3", want: "5497558"},
		{query: "?unit=b&scale=-1", want: "5497558"},
		{query: "?unit=k", want: "5368.71 KiB"},
		{query: "?unit=K&scale=3", want: "5368.709 KiB"},
		{query: "?unit=m&scale=3", want: "5.243 MiB"},
		{query: "?unit=g&scale=3", want: "0.005 GiB"},
		{query: "?unit=G", want: "0.01 GiB"},
		{query: "?scale=0", want: "5 MiB"},
		{query: "?scale=2.7", want: "5.24 MiB"},
		{query: "?scale=%201%20", want: "5.2 MiB"},
		{query: "?scale=25", want: "5.2428798675537109375000000 MiB"},
		{query: "?unit=b&scale=100", want: "5497558"},
		{query: "?scale=abc", want: "5.24 MiB"},
		{query: "?scale=", want: "5.24 MiB"},
		{query: "?scale=NaN", want: "5.24 MiB"},
		{query: "?scale=Inf", want: "5.24 MiB"},
		{query: "?unit=V", wantErr: "invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')"},
		{query: "?unit=kb", wantErr: "invalid unit 'kb' (expected 'k/K', 'm/M', or 'g/G')"},
		{query: "?unit=k&scale=-1", wantErr: "scale must be equal or greater than 0"},
		{query: "?scale=-0.5", wantErr: "scale must be equal or greater than 0"},
		{query: "?unit=V&scale=-1", wantErr: "scale must be equal or greater than 0"},
		{query: "?scale=100", wantErr: "scale must be equal or less than 99"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			rec := do(t, h, http.MethodGet, "/status"+tt.query, nil)
			if tt.wantErr != "" {
				var body struct{ Message string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusBadRequest || body.Message != tt.wantErr {
					t.Fatalf("= %d %s, want 400 %q", rec.Code, rec.Body, tt.wantErr)
				}
				return
			}
			var body struct {
				Memory struct {
					Workers []struct {
						Allocated string `json:"http_allocated_gc"`
					} `json:"workers_lua_vms"`
				} `json:"memory"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK || len(body.Memory.Workers) != 1 {
				t.Fatalf("= %d %s", rec.Code, rec.Body)
			}
			if got := body.Memory.Workers[0].Allocated; got != tt.want {
				t.Errorf("http_allocated_gc = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStatusReadsTheSource checks /status shows the Source's current
// state, not a copy taken when the handler was built.
func TestStatusReadsTheSource(t *testing.T) {
	t.Parallel()
	src := newFakeSource()
	h := statusapi.Handler(src, statusapi.Options{})
	src.update(func(f *fakeSource) {
		f.status.Revision = 43
		f.status.ControlPlane.Connected = false
		f.status.LastError = "configuration refused: plugin 'foo' not enabled"
	})
	var body struct {
		Gatehouse struct {
			Revision     int64  `json:"revision"`
			LastError    string `json:"last_error"`
			ControlPlane struct {
				Connected bool `json:"connected"`
			} `json:"control_plane"`
		} `json:"gatehouse"`
	}
	rec := do(t, h, http.MethodGet, "/status", nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	g := body.Gatehouse
	if g.Revision != 43 || g.ControlPlane.Connected || g.LastError != "configuration refused: plugin 'foo' not enabled" {
		t.Errorf("gatehouse = %+v", g)
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		hash       string
		built      bool
		wantReady  bool
		wantReason string
	}{
		{"runtime not built", fixtureHash, false, false, "router builds not yet complete, router ready in 0 of 1 workers"},
		{"no hash", "", true, false, statusapi.ReasonNoConfiguration},
		{"empty configuration", "00000000000000000000000000000000", true, false, statusapi.ReasonEmptyConfiguration},
		{"configured", fixtureHash, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ready, reason := statusapi.Readiness(tt.hash, tt.built)
			if ready != tt.wantReady || reason != tt.wantReason {
				t.Errorf("Readiness(%q, %v) = %v, %q, want %v, %q", tt.hash, tt.built, ready, reason, tt.wantReady, tt.wantReason)
			}
		})
	}
	if got, want := statusapi.PluginsNotReady(1, 2), "plugins iterator builds not yet complete, plugins iterator ready in 1 of 2 workers"; got != want {
		t.Errorf("PluginsNotReady = %q, want %q", got, want)
	}
}

func TestProcessMemory(t *testing.T) {
	t.Parallel()
	m := statusapi.ProcessMemory()
	if m.PID != os.Getpid() || m.Allocated == 0 {
		t.Errorf("ProcessMemory() = %+v, want pid %d and some heap", m, os.Getpid())
	}
}
