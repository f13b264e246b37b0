package hub_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"testing"
	"time"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/sync-hub/internal/hubtest"
)

// dialFails checks a data plane with cfg cannot open a session.
func dialFails(t *testing.T, e *env, cfg *tls.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := hubtest.Dial(ctx, e.h.Addr(), cfg, false)
	if err == nil {
		_ = conn.CloseNow()
		t.Fatal("the hub accepted the connection")
	}
}

func TestSharedMode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	hubtest.Service(t, e.direct, "svc")
	e.waitHub(e.latest())

	t.Run("another certificate is refused", func(t *testing.T) {
		t.Parallel()
		other, _, _ := hubtest.SharedCert(t)
		cfg := other.ClientConfig("127.0.0.1")
		// The data plane would refuse the hub too; let it through to see
		// the hub refuse.
		cfg.VerifyConnection = nil
		dialFails(t, e, cfg)
		e.log.WaitFor(slog.LevelError, "data plane presented incorrect client certificate during handshake "+
			"(digest does not match the control plane certificate) [ip: 127.0.0.1]", 5*time.Second)
	})
	t.Run("no certificate is refused", func(t *testing.T) {
		t.Parallel()
		cfg := e.client.Clone()
		cfg.Certificates = nil
		dialFails(t, e, cfg)
		e.log.WaitFor(slog.LevelError, "data plane failed to present client certificate during handshake [ip: 127.0.0.1]", 5*time.Second)
	})
	t.Run("the cluster certificate is accepted", func(t *testing.T) {
		t.Parallel()
		dp, err := hubtest.Connect(ctxT(t), e.h.Addr(), e.client, hello())
		if err != nil {
			t.Fatal(err)
		}
		defer dp.Close()
		if err := dp.WaitRevision(ctxT(t), e.latest()); err != nil {
			t.Fatal(err)
		}
		row := e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.Revision > 0 })
		if got := row.CertDetails["expiry_timestamp"]; toInt(got) != e.material.Leaf.NotAfter.Unix() {
			t.Errorf("cert_details = %v, want the certificate's expiry %d", row.CertDetails, e.material.Leaf.NotAfter.Unix())
		}
	})
}

func TestPKIMode(t *testing.T) {
	t.Parallel()
	ca := hubtest.NewCA(t)
	server := ca.Issue("sync-hub.test", "")
	good := ca.Issue("dp-good", "")
	revoked := ca.Issue("dp-revoked", "")
	pinnedID := schema.NewUUID()
	pinned := ca.Issue("dp-pinned", pinnedID)
	material, err := clustertls.Load(clustertls.Config{
		Mode: clustertls.PKI, Cert: server.CertPath, Key: server.KeyPath, CA: ca.CertPath, CRL: ca.CRL(revoked.Serial),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := func(is hubtest.Issued, caPath, serverName string) *tls.Config {
		t.Helper()
		m, err := clustertls.Load(clustertls.Config{
			Mode: clustertls.PKI, Cert: is.CertPath, Key: is.KeyPath, CA: caPath, ServerName: serverName,
		})
		if err != nil {
			t.Fatal(err)
		}
		return m.ClientConfig("127.0.0.1")
	}
	goodCfg := client(good, ca.CertPath, "sync-hub.test")
	e := newEnv(t, envOptions{material: material, client: goodCfg})
	hubtest.Service(t, e.direct, "svc")
	e.waitHub(e.latest())

	t.Run("a certificate signed by the CA syncs", func(t *testing.T) {
		t.Parallel()
		dp, err := hubtest.Connect(ctxT(t), e.h.Addr(), goodCfg, hello())
		if err != nil {
			t.Fatal(err)
		}
		defer dp.Close()
		if err := dp.WaitRevision(ctxT(t), e.latest()); err != nil {
			t.Fatal(err)
		}
		row := e.row(dp.Hello.NodeID, func(r store.DataPlane) bool { return r.Revision > 0 })
		if got := toInt(row.CertDetails["expiry_timestamp"]); got != good.NotAfter.Unix() {
			t.Errorf("cert_details expiry = %d, want %d", got, good.NotAfter.Unix())
		}
	})
	t.Run("the server name is checked", func(t *testing.T) {
		t.Parallel()
		dialFails(t, e, client(good, ca.CertPath, "another.name"))
	})
	t.Run("another CA is refused", func(t *testing.T) {
		t.Parallel()
		other := hubtest.NewCA(t)
		stranger := other.Issue("dp-stranger", "")
		cfg := client(stranger, ca.CertPath, "sync-hub.test")
		dialFails(t, e, cfg)
		e.log.WaitFor(slog.LevelError, "data plane presented a client certificate that does not verify against the cluster CA", 5*time.Second)
	})
	t.Run("a revoked certificate is refused", func(t *testing.T) {
		t.Parallel()
		dialFails(t, e, client(revoked, ca.CertPath, "sync-hub.test"))
		e.log.WaitFor(slog.LevelError, "data plane client certificate was revoked [ip: 127.0.0.1]", 5*time.Second)
	})
	t.Run("no certificate is refused", func(t *testing.T) {
		t.Parallel()
		cfg := goodCfg.Clone()
		cfg.Certificates = nil
		dialFails(t, e, cfg)
		e.log.WaitFor(slog.LevelError, "data plane failed to present client certificate during handshake [ip: 127.0.0.1]", 5*time.Second)
	})
	t.Run("a pinned node id must match", func(t *testing.T) {
		t.Parallel()
		cfg := client(pinned, ca.CertPath, "sync-hub.test")
		dp, err := hubtest.Connect(ctxT(t), e.h.Addr(), cfg, hello())
		if err != nil {
			t.Fatal(err)
		}
		if em, ok := recv(t, dp).(*protocol.ErrorMessage); !ok || em.Message != clustertls.ErrNodeIDMismatch.Error() {
			t.Fatalf("got %#v, want the node id refusal", em)
		}
		if _, err := dp.Recv(ctxT(t)); hubtest.CloseStatus(err) != protocol.ClosePolicyViolation {
			t.Errorf("close = %v, want %d", err, protocol.ClosePolicyViolation)
		}
		h := hello()
		h.NodeID = pinnedID
		ok, err := hubtest.Connect(ctxT(t), e.h.Addr(), cfg, h)
		if err != nil {
			t.Fatal(err)
		}
		defer ok.Close()
		if err := ok.WaitRevision(ctxT(t), e.latest()); err != nil {
			t.Fatal(err)
		}
	})
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return -1
}
