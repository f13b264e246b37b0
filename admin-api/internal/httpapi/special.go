package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/shared/entity"
)

// specialRoutes registers the endpoints Kong adds to or replaces in the
// generated ones: /consumers?custom_id=, consumer groups and their
// members, /plugins/enabled and the deprecated /plugins/schema/{name}.
func (a *API) specialRoutes() {
	consumers := a.cat.Type(entity.Consumers)
	listConsumers := a.listHandler(consumers, nil, "")
	a.handle(http.MethodGet, "/consumers", func(c echo.Context) error {
		q := c.QueryParams()
		ids, ok := q["custom_id"]
		if !ok {
			return listConsumers(c)
		}
		e, err := a.svc.ConsumerByCustomID(c.Request().Context(), ids[0])
		if err != nil {
			return err
		}
		data := []map[string]any{}
		if e != nil {
			data = append(data, e)
		}
		return writeJSON(c, http.StatusOK, pageBody{Data: data})
	})

	a.handle(http.MethodGet, "/consumer_groups/:consumer_groups", func(c echo.Context) error {
		withConsumers := c.QueryParam("list_consumers") != "false"
		out, err := a.svc.GetConsumerGroup(c.Request().Context(), param(c, "consumer_groups"), withConsumers)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, out)
	})
	members := "/consumer_groups/:consumer_groups/consumers"
	a.handle(http.MethodGet, members, func(c echo.Context) error {
		lq, err := parseList(c, false)
		if err != nil {
			return err
		}
		page, err := a.svc.ListGroupConsumers(c.Request().Context(), param(c, "consumer_groups"), lq.opts)
		if err != nil {
			return err
		}
		base := "/consumer_groups/" + rawParam(c, "consumer_groups") + "/consumers"
		return writePage(c, dataOf(page.Data), page.Offset, base, lq, false)
	})
	a.handle(http.MethodPost, members, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		out, err := a.svc.AddGroupConsumers(c.Request().Context(), param(c, "consumer_groups"), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusCreated, out)
	})
	a.handle(http.MethodDelete, members, func(c echo.Context) error {
		if err := a.svc.RemoveAllGroupConsumers(c.Request().Context(), param(c, "consumer_groups")); err != nil {
			return err
		}
		return noContent(c)
	})
	member := members + "/:consumers"
	a.handle(http.MethodGet, member, func(c echo.Context) error {
		e, err := a.svc.GetGroupConsumer(c.Request().Context(), param(c, "consumer_groups"), param(c, "consumers"))
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, e)
	})
	a.handle(http.MethodDelete, member, func(c echo.Context) error {
		if err := a.svc.RemoveGroupConsumer(c.Request().Context(), param(c, "consumer_groups"), param(c, "consumers")); err != nil {
			return err
		}
		return noContent(c)
	})

	groupsOf := "/consumers/:consumers/consumer_groups"
	a.handle(http.MethodGet, groupsOf, func(c echo.Context) error {
		lq, err := parseList(c, false)
		if err != nil {
			return err
		}
		page, err := a.svc.ListConsumerGroupsOf(c.Request().Context(), param(c, "consumers"), lq.opts)
		if err != nil {
			return err
		}
		base := "/consumers/" + rawParam(c, "consumers") + "/consumer_groups"
		return writePage(c, dataOf(page.Data), page.Offset, base, lq, false)
	})
	a.handle(http.MethodPost, groupsOf, func(c echo.Context) error {
		in, err := a.input(c)
		if err != nil {
			return err
		}
		out, err := a.svc.AddConsumerToGroups(c.Request().Context(), param(c, "consumers"), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusCreated, out)
	})
	a.handle(http.MethodDelete, groupsOf+"/:consumer_groups", func(c echo.Context) error {
		if err := a.svc.RemoveGroupConsumer(c.Request().Context(), param(c, "consumer_groups"), param(c, "consumers")); err != nil {
			return err
		}
		return noContent(c)
	})

	a.handle(http.MethodGet, "/plugins/enabled", func(c echo.Context) error {
		names := a.plugins.Names()
		if names == nil {
			names = []string{}
		}
		return writeJSON(c, http.StatusOK, map[string]any{"enabled_plugins": names})
	})
	a.handle(http.MethodGet, "/plugins/schema/:name", func(c echo.Context) error {
		name := param(c, "name")
		p := a.plugins.Get(name)
		if p == nil {
			return errorf(http.StatusNotFound, "No plugin named '"+name+"'")
		}
		return writeJSON(c, http.StatusOK, p.ConfigKongJSON())
	})
}
