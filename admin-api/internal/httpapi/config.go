package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/shared/declarative"
)

// configRoutes registers GET and POST /config: the whole configuration as
// a declarative file. Kong serves them on DB-less nodes only; Gatehouse
// serves them on Postgres too, as GitOps users want.
func (a *API) configRoutes() {
	a.handle(http.MethodGet, "/config", a.exportConfig)
	a.handle(http.MethodPost, "/config", a.importConfig)
}

// exportConfig answers GET /config as Kong does, {"config": "<YAML>"}, or
// with ?format=json the JSON text in the same envelope. Asked with Accept
// application/yaml (or text/yaml), or with ?raw=1, it sends the file
// itself.
func (a *API) exportConfig(c echo.Context) error {
	format := declarative.YAML
	switch strings.ToLower(c.QueryParam("format")) {
	case "", "yaml", "yml":
	case "json":
		format = declarative.JSON
	default:
		return errorf(http.StatusBadRequest, "format must be yaml or json")
	}
	accept := strings.ToLower(c.Request().Header.Get("Accept"))
	wantsYAML := strings.Contains(accept, "application/yaml") || strings.Contains(accept, "text/yaml") ||
		strings.Contains(accept, "application/x-yaml")
	if wantsYAML && c.QueryParam("format") == "" {
		format = declarative.YAML
	}
	cfg, err := a.svc.Export(c.Request().Context())
	if err != nil {
		return err
	}
	text, err := cfg.Marshal(format)
	if err != nil {
		return err
	}
	switch {
	case wantsYAML && format == declarative.YAML:
		return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", text)
	case truthy(c.QueryParam("raw")) && format == declarative.YAML:
		return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", text)
	case truthy(c.QueryParam("raw")):
		return c.Blob(http.StatusOK, contentTypeJSON, text)
	}
	return writeJSON(c, http.StatusOK, map[string]string{"config": string(text)})
}

// importConfig is POST /config: the body is a JSON object carrying
// _format_version, a `config` field holding the file (JSON, form or
// multipart body), or the file itself (a YAML body). The whole
// configuration is replaced as one revision; an invalid file changes
// nothing. Query flags: check_hash (304 when the same text was imported
// last and nothing changed since) and flatten_errors.
func (a *API) importConfig(c echo.Context) error {
	b, err := a.readBody(c, true)
	if err != nil {
		return err
	}
	req := admin.ConfigRequest{
		CheckHash:     truthy(c.QueryParam("check_hash")),
		FlattenErrors: truthy(c.QueryParam("flatten_errors")),
	}
	switch {
	case b.kind == bodyYAML:
		req.Text = b.raw
	case b.fields["_format_version"] != nil && b.kind == bodyJSON:
		req.Document = b.fields
	default:
		switch v := b.fields["config"].(type) {
		case string:
			req.Text = []byte(v)
		case map[string]any:
			req.Document = v
		}
	}
	out, err := a.svc.Import(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusCreated, out)
}
