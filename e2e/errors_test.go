package e2e_test

// Kong's spec/02-integration/09-hybrid_mode/12-errors_spec.lua, adapted:
// a data plane that refuses a configuration reports why, and the control
// plane shows it (last_error in /clustering/data-planes, a warning in
// sync-hub's log). Kong's suite drives a real data plane with a mock
// control plane; here a fake data plane refuses on purpose in front of
// the real sync-hub and admin-api, which are what this promise is about.
// (A real data plane's refusals are tested in the dataplane module.)

import (
	"fmt"
	"net/http"
	"testing"

	"gatehouse.dev/e2e/e2etest"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/version"
)

// TestErrorsReported: each kind of refusal Kong reports shows as
// last_error, the data plane keeps its revision, and the error clears once
// a later configuration is acknowledged.
func TestErrorsReported(t *testing.T) { //nolint:tparallel // the subtests are steps on one control plane, in order
	t.Parallel()
	c := e2etest.NewCluster(t, e2etest.ClusterOptions{})
	svc := addService(t, c.Admin, "my-service", "http://127.0.0.1:1")
	plugins := map[string]string{}
	for _, p := range plugin.Bundled() {
		plugins[p.Name] = version.Version
	}
	cases := []struct {
		name string
		nack protocol.Nack
	}{
		{"reports invalid configuration errors", protocol.Nack{
			Error:  "declarative configuration parse failure: services: my-service: host: expected a hostname",
			Fields: map[string]string{"services." + svc + ".host": "expected a hostname", "extra_top_level_field": "unknown field"},
		}},
		{"reports exceptions encountered during config reload", protocol.Nack{
			Error: "configuration reload failed: boom!",
		}},
		{"reports other types of errors", protocol.Nack{
			Error: "configuration reload failed: map full",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hello := e2etest.NewHello(version.Version, plugins)
			f, err := e2etest.DialFake(t, c.Hubs[0].ClusterAddr, c.Certs, hello)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := f.RecvConfig(syncTimeout)
			if err != nil {
				t.Fatal(err)
			}
			ack, _, err := configOf(msg)
			if err != nil {
				t.Fatal(err)
			}
			mark := c.Hubs[0].Log().Mark()
			nack := tc.nack
			nack.Revision = ack.Revision
			if err := f.Send(&nack); err != nil {
				t.Fatal(err)
			}
			c.Admin.WaitDataPlane(t, hello.NodeID, syncTimeout, func(r e2etest.DataPlaneRow) error {
				if r.LastError == nil || *r.LastError != nack.Error {
					return fmt.Errorf("last_error = %s, want %q", deref(r.LastError), nack.Error)
				}
				if r.Revision != 0 || !r.Connected {
					return fmt.Errorf("revision %d connected %v, want 0 and connected", r.Revision, r.Connected)
				}
				return nil
			})
			c.Hubs[0].Log().WaitFor(t, mark, fmt.Sprintf("data plane refused revision %d: %s", nack.Revision, nack.Error), syncTimeout)

			// A new revision is sent again; acknowledging it clears the error.
			c.Admin.MustDo(t, http.MethodPatch, "/services/my-service", map[string]any{"retries": 3 + len(tc.name)}, http.StatusOK)
			msg, err = f.RecvConfig(syncTimeout)
			if err != nil {
				t.Fatal(err)
			}
			// Nothing was acknowledged, so it comes from revision 0.
			next, _, err := configOf(msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Send(next); err != nil {
				t.Fatal(err)
			}
			c.Admin.WaitDataPlane(t, hello.NodeID, syncTimeout, func(r e2etest.DataPlaneRow) error {
				if r.LastError != nil || r.Revision != next.Revision || r.SyncStatus != "normal" {
					return fmt.Errorf("last_error %s revision %d status %s, want none, %d, normal",
						deref(r.LastError), r.Revision, r.SyncStatus, next.Revision)
				}
				return nil
			})
			f.Close()
		})
	}
}
