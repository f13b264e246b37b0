package statusapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/prometheus/common/expfmt"
)

// metricsContentType is the Prometheus text exposition format, version
// 0.0.4, which every scraper accepts.
const metricsContentType = string(expfmt.FmtText)

// metrics is GET /metrics: Options.Gatherer in the text format. A
// gathering error is logged and what was gathered is still served, so one
// broken collector does not hide every other metric.
func (h *handler) metrics(w http.ResponseWriter) {
	if h.opts.Gatherer == nil {
		writeMessage(w, http.StatusNotFound, "Not found")
		return
	}
	families, err := h.opts.Gatherer.Gather()
	if err != nil {
		h.opts.Logger.Warn("gather metrics", "error", err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.FmtText)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			h.opts.Logger.Warn("encode metrics", "family", mf.GetName(), "error", err)
			writeMessage(w, http.StatusInternalServerError, "An unexpected error occurred")
			return
		}
	}
	w.Header().Set("Content-Type", metricsContentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
