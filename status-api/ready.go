package statusapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxDrainBody bounds the body of POST /status/ready.
const maxDrainBody = 64 << 10

// ready is GET /status/ready: 503 draining once set, else the Source's
// answer.
func (h *handler) ready(w http.ResponseWriter) {
	if h.draining.Load() {
		writeMessage(w, http.StatusServiceUnavailable, ReasonDraining)
		return
	}
	ok, reason := h.src.Ready()
	if !ok {
		writeMessage(w, http.StatusServiceUnavailable, reason)
		return
	}
	writeMessage(w, http.StatusOK, "ready")
}

// setDraining is POST /status/ready (Kong 3.9's `kong drain`): with
// status=draining, from loopback or with the token, it sets draining for
// good and answers 204.
func (h *handler) setDraining(w http.ResponseWriter, r *http.Request) {
	if status, msg := h.authorizeDrain(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="status"`)
		}
		h.opts.Logger.Info("draining refused", "remote_addr", r.RemoteAddr, "status", status)
		writeMessage(w, status, msg)
		return
	}
	if drainStatus(w, r) != "draining" {
		writeMessage(w, http.StatusBadRequest, "Bad request")
		return
	}
	if h.draining.CompareAndSwap(false, true) {
		h.opts.Logger.Info("status set to draining", "remote_addr", r.RemoteAddr)
		if h.opts.OnDrain != nil {
			h.opts.OnDrain()
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// authorizeDrain allows a loopback peer (by the connection's address,
// never a forwarding header) or a client with the token. It returns the
// refusal's status and message, or 0.
func (h *handler) authorizeDrain(r *http.Request) (int, string) {
	if isLoopback(r.RemoteAddr) {
		return 0, ""
	}
	if h.opts.Token == "" {
		return http.StatusForbidden, "Forbidden"
	}
	got := presentedToken(r.Header)
	if got == "" || !tokensEqual(got, h.opts.Token) {
		return http.StatusUnauthorized, "Unauthorized"
	}
	return 0, ""
}

// isLoopback reports whether a RemoteAddr ("ip:port") is a loopback
// address (127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6).
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// presentedToken is the Kong-Admin-Token header, else the credentials of
// "Authorization: Bearer <token>".
func presentedToken(hdr http.Header) string {
	if t := hdr.Get("Kong-Admin-Token"); t != "" {
		return t
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(hdr.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// tokensEqual compares in constant time, lengths included (both sides are
// hashed first).
func tokensEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// drainStatus reads "status" from a JSON object body or a form body of at
// most maxDrainBody bytes, else from the query string, as Kong's merged
// parameters ("" when absent or unreadable).
func drainStatus(w http.ResponseWriter, r *http.Request) string {
	r.Body = http.MaxBytesReader(w, r.Body, maxDrainBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var body struct {
			Status any `json:"status"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return ""
		}
		if body.Status == nil {
			return r.URL.Query().Get("status")
		}
		s, _ := body.Status.(string)
		return s
	case "multipart/form-data":
		err := r.ParseMultipartForm(maxDrainBody) //nolint:gosec // G120: r.Body is bounded by the MaxBytesReader above.
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
		if err != nil {
			return ""
		}
	default:
		if err := r.ParseForm(); err != nil {
			return ""
		}
	}
	return r.FormValue("status")
}
