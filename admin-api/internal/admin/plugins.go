package admin

import (
	"context"
	"errors"
	"slices"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// errStop ends an iteration early.
var errStop = errors.New("stop")

// checkPluginProtocols is the plugins DAO's check_protocols_match: a
// plugin's protocols must share one with its route, or with at least one
// route of its service when the service has routes.
func (s *Service) checkPluginProtocols(ctx context.Context, r reader, p map[string]any) error {
	protocols, ok := p["protocols"].([]any)
	if !ok {
		return nil
	}
	if routeID := foreignID(p["route"]); routeID != "" {
		route, err := r.Get(ctx, entity.Routes, routeID)
		if isNotFound(err) {
			return nil // the store reports the missing route
		}
		if err != nil {
			return err
		}
		if !shareProtocol(protocols, route["protocols"]) {
			return schema.SchemaViolation(schema.Errors{"protocols": "must match the associated route's protocols"})
		}
		return nil
	}
	serviceID := foreignID(p["service"])
	if serviceID == "" {
		return nil
	}
	hadRoute, matched := false, false
	err := eachChild(ctx, r, entity.Routes, entity.Services, serviceID, "service", func(route map[string]any) error {
		hadRoute = true
		if shareProtocol(protocols, route["protocols"]) {
			matched = true
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if hadRoute && !matched {
		return schema.SchemaViolation(schema.Errors{
			"protocols": "must match the protocols of at least one route pointing to this Plugin's service",
		})
	}
	return nil
}

func shareProtocol(a []any, routeProtocols any) bool {
	b, _ := routeProtocols.([]any)
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
