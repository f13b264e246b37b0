package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kong/go-kong/kong"
)

// goKong returns a go-kong client for the test server.
func goKong(t *testing.T, s *testServer) *kong.Client {
	t.Helper()
	c, err := kong.NewClient(new(s.srv.URL), s.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pageAll walks a go-kong list with a small page size and returns how
// many entities it saw and in how many pages.
func pageAll[T any](t *testing.T, list func(*kong.ListOpt) ([]T, *kong.ListOpt, error)) (n, pages int) {
	t.Helper()
	opt := &kong.ListOpt{Size: 2}
	for opt != nil {
		data, next, err := list(opt)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		n += len(data)
		pages++
		opt = next
	}
	return n, pages
}

// TestGoKong drives the API with go-kong, Kong's own Go client: create
// (POST, and PUT with an id), list with paging, update and delete of each
// entity kind, and plugin schemas.
func TestGoKong(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := goKong(t, s)
	ctx := context.Background()
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	info, err := c.Info.Get(ctx)
	check("info", err)
	if info.Version != "3.10.0" || info.Configuration.Database != "postgres" {
		t.Errorf("info: %+v", info)
	}
	st, err := c.Status(ctx)
	check("status", err)
	if !st.Database.Reachable {
		t.Error("status: database not reachable")
	}
	if ok, err := c.Tags.Exists(ctx); err != nil || !ok {
		t.Errorf("tags exist: %v %v", ok, err)
	}

	// Services: POST, PUT with id, list, update, delete.
	var svcs []*kong.Service
	for i := range 5 {
		svc := &kong.Service{Name: new(fmt.Sprint("svc", i)), Host: new("a.example")}
		if i%2 == 1 {
			svc.ID = new(fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i))
		}
		created, err := c.Services.Create(ctx, svc)
		check("create service", err)
		svcs = append(svcs, created)
	}
	if *svcs[1].ID != "00000000-0000-4000-8000-000000000001" || *svcs[0].Port != 80 {
		t.Errorf("services: %+v %+v", svcs[0], svcs[1])
	}
	if n, pages := pageAll(t, func(o *kong.ListOpt) ([]*kong.Service, *kong.ListOpt, error) { return c.Services.List(ctx, o) }); n != 5 || pages != 3 {
		t.Errorf("services listed: %d in %d pages", n, pages)
	}
	svcs[0].Retries = new(1)
	updated, err := c.Services.Update(ctx, svcs[0])
	check("update service", err)
	if *updated.Retries != 1 {
		t.Errorf("updated service: %+v", updated)
	}
	got, err := c.Services.Get(ctx, new("svc0"))
	check("get service", err)
	if *got.Retries != 1 {
		t.Errorf("service read back: %+v", got)
	}
	check("delete service", c.Services.Delete(ctx, svcs[4].ID))
	if _, err := c.Services.Get(ctx, svcs[4].ID); !kong.IsNotFoundErr(err) {
		t.Errorf("deleted service: %v", err)
	}

	// Routes, in a service and alone.
	for i := range 3 {
		_, err := c.Routes.CreateInService(ctx, svcs[0].ID, &kong.Route{Name: new(fmt.Sprint("r", i)), Paths: kong.StringSlice(fmt.Sprint("/", i))})
		check("create route", err)
	}
	route, err := c.Routes.Create(ctx, &kong.Route{ID: new("00000000-0000-4000-8000-0000000000a1"), Hosts: kong.StringSlice("h.example"), Service: &kong.Service{ID: svcs[1].ID}})
	check("create route with id", err)
	if n, _ := pageAll(t, func(o *kong.ListOpt) ([]*kong.Route, *kong.ListOpt, error) { return c.Routes.List(ctx, o) }); n != 4 {
		t.Errorf("routes listed: %d", n)
	}
	rs, _, err := c.Routes.ListForService(ctx, svcs[0].ID, nil)
	check("routes for service", err)
	if len(rs) != 3 {
		t.Errorf("routes for service: %d", len(rs))
	}
	route.StripPath = new(false)
	route, err = c.Routes.Update(ctx, route)
	check("update route", err)
	if *route.StripPath {
		t.Error("route not updated")
	}
	svcOfRoute, err := c.Services.GetForRoute(ctx, route.ID)
	check("service for route", err)
	if *svcOfRoute.ID != *svcs[1].ID {
		t.Errorf("service for route: %v", *svcOfRoute.ID)
	}
	check("delete route", c.Routes.Delete(ctx, route.ID))

	// Consumers and credentials.
	for i := range 3 {
		_, err := c.Consumers.Create(ctx, &kong.Consumer{Username: new(fmt.Sprint("u", i)), CustomID: new(fmt.Sprint("c", i))})
		check("create consumer", err)
	}
	byCustom, err := c.Consumers.GetByCustomID(ctx, new("c1"))
	check("consumer by custom id", err)
	if *byCustom.Username != "u1" {
		t.Errorf("by custom id: %+v", byCustom)
	}
	if n, _ := pageAll(t, func(o *kong.ListOpt) ([]*kong.Consumer, *kong.ListOpt, error) { return c.Consumers.List(ctx, o) }); n != 3 {
		t.Errorf("consumers listed: %d", n)
	}
	ka, err := c.KeyAuths.Create(ctx, new("u0"), &kong.KeyAuth{Key: new("secret-key")})
	check("create key-auth", err)
	_, err = c.KeyAuths.Create(ctx, new("u0"), &kong.KeyAuth{ID: new("00000000-0000-4000-8000-0000000000b1")})
	check("create key-auth with id", err)
	ka.Tags = kong.StringSlice("t")
	_, err = c.KeyAuths.Update(ctx, new("u0"), ka)
	check("update key-auth", err)
	kas, err := c.KeyAuths.ListAll(ctx)
	check("list key-auths", err)
	if len(kas) != 2 {
		t.Errorf("key-auths: %d", len(kas))
	}
	check("delete key-auth", c.KeyAuths.Delete(ctx, new("u0"), ka.ID))
	ba, err := c.BasicAuths.Create(ctx, new("u1"), &kong.BasicAuth{Username: new("bob"), Password: new("pw")})
	check("create basic-auth", err)
	if *ba.Password == "pw" {
		t.Error("basic-auth password not hashed")
	}
	check("delete basic-auth", c.BasicAuths.Delete(ctx, new("u1"), ba.ID))
	acl, err := c.ACLs.Create(ctx, new("u1"), &kong.ACLGroup{Group: new("admins")})
	check("create acl", err)
	acl2, err := c.ACLs.Get(ctx, new("u1"), new("admins"))
	check("get acl by group", err)
	if *acl2.ID != *acl.ID {
		t.Errorf("acl by group: %+v", acl2)
	}
	check("delete acl", c.ACLs.Delete(ctx, new("u1"), new("admins")))

	// Plugins: global, on a service, on a route, on a consumer group.
	p, err := c.Plugins.Create(ctx, &kong.Plugin{Name: new("rate-limiting"), Config: kong.Configuration{"minute": 5}})
	check("create plugin", err)
	_, err = c.Plugins.CreateForService(ctx, svcs[0].Name, &kong.Plugin{Name: new("cors")})
	check("create plugin for service", err)
	_, err = c.Plugins.CreateForRoute(ctx, new("r0"), &kong.Plugin{ID: new("00000000-0000-4000-8000-0000000000c1"), Name: new("cors")})
	check("create plugin for route", err)
	p.Config["minute"] = 10
	p, err = c.Plugins.Update(ctx, p)
	check("update plugin", err)
	if p.Config["minute"] != float64(10) {
		t.Errorf("plugin config: %v", p.Config)
	}
	if n, _ := pageAll(t, func(o *kong.ListOpt) ([]*kong.Plugin, *kong.ListOpt, error) { return c.Plugins.List(ctx, o) }); n != 3 {
		t.Errorf("plugins listed: %d", n)
	}
	forSvc, err := c.Plugins.ListAllForService(ctx, svcs[0].ID)
	check("plugins for service", err)
	if len(forSvc) != 1 {
		t.Errorf("plugins for service: %d", len(forSvc))
	}
	full, err := c.Plugins.GetFullSchema(ctx, new("rate-limiting"))
	check("plugin full schema", err)
	if full["fields"] == nil {
		t.Errorf("full schema: %v", full)
	}
	// The deprecated /plugins/schema/{name}, which older decK versions use.
	cfgSchema, err := c.Plugins.GetSchema(ctx, new("key-auth")) //nolint:staticcheck // SA1019: exercising the deprecated endpoint on purpose
	check("plugin config schema", err)
	if cfgSchema["fields"] == nil {
		t.Errorf("config schema: %v", cfgSchema)
	}
	if _, err := c.Plugins.GetFullSchema(ctx, new("nope")); !kong.IsNotFoundErr(err) {
		t.Errorf("unknown plugin schema: %v", err)
	}
	if ok, msg, err := c.Plugins.Validate(ctx, &kong.Plugin{Name: new("rate-limiting"), Config: kong.Configuration{"policy": "cluster", "minute": 1}}); err != nil || ok || msg == "" {
		t.Errorf("validate cluster policy: %v %q %v", ok, msg, err)
	}
	entitySchema, err := c.Schemas.Get(ctx, "routes")
	check("routes schema", err)
	if entitySchema["fields"] == nil {
		t.Errorf("routes schema: %v", entitySchema)
	}
	check("delete plugin", c.Plugins.Delete(ctx, p.ID))

	// Upstreams and targets.
	up, err := c.Upstreams.Create(ctx, &kong.Upstream{Name: new("up"), Algorithm: new("least-connections")})
	check("create upstream", err)
	up.Slots = new(100)
	_, err = c.Upstreams.Update(ctx, up)
	check("update upstream", err)
	for i := range 3 {
		_, err := c.Targets.Create(ctx, up.Name, &kong.Target{Target: new(fmt.Sprintf("10.0.0.%d:80", i)), Weight: new(10)})
		check("create target", err)
	}
	if n, _ := pageAll(t, func(o *kong.ListOpt) ([]*kong.Target, *kong.ListOpt, error) { return c.Targets.List(ctx, up.ID, o) }); n != 3 {
		t.Errorf("targets listed: %d", n)
	}
	check("delete target", c.Targets.Delete(ctx, up.Name, new("10.0.0.0:80")))
	if n, _ := pageAll(t, func(o *kong.ListOpt) ([]*kong.Upstream, *kong.ListOpt, error) { return c.Upstreams.List(ctx, o) }); n != 1 {
		t.Errorf("upstreams listed: %d", n)
	}
	check("delete upstream", c.Upstreams.Delete(ctx, up.ID))

	// Certificates, SNIs and CA certificates.
	certText, keyText := certPEM(t, false)
	cert, err := c.Certificates.Create(ctx, &kong.Certificate{Cert: new(certText), Key: new(keyText), SNIs: kong.StringSlice("a.example.com")})
	check("create certificate", err)
	_, err = c.SNIs.Create(ctx, &kong.SNI{Name: new("b.example.com"), Certificate: &kong.Certificate{ID: cert.ID}})
	check("create sni", err)
	snis, _, err := c.SNIs.ListForCertificate(ctx, cert.ID, nil)
	check("snis for certificate", err)
	if len(snis) != 2 {
		t.Errorf("snis: %d", len(snis))
	}
	cert, err = c.Certificates.Get(ctx, cert.ID)
	check("get certificate", err)
	if len(cert.SNIs) != 2 {
		t.Errorf("certificate snis: %v", cert.SNIs)
	}
	cert.Tags = kong.StringSlice("t")
	_, err = c.Certificates.Update(ctx, cert)
	check("update certificate", err)
	ca, err := c.CACertificates.Create(ctx, &kong.CACertificate{Cert: new(caPEM(t))})
	check("create ca certificate", err)
	ca.Tags = kong.StringSlice("t")
	_, err = c.CACertificates.Update(ctx, ca)
	check("update ca certificate", err)
	check("delete ca certificate", c.CACertificates.Delete(ctx, ca.ID))
	check("delete certificate", c.Certificates.Delete(ctx, cert.ID))

	// Consumer groups.
	g, err := c.ConsumerGroups.Create(ctx, &kong.ConsumerGroup{Name: new("gold")})
	check("create group", err)
	_, err = c.ConsumerGroupConsumers.Create(ctx, g.Name, new("u0"))
	check("add member", err)
	members, err := c.ConsumerGroupConsumers.ListAll(ctx, g.ID)
	check("list members", err)
	if len(members) != 1 || *members[0].Username != "u0" {
		t.Errorf("members: %v", members)
	}
	obj, err := c.ConsumerGroups.Get(ctx, g.Name)
	check("get group", err)
	if *obj.ConsumerGroup.Name != "gold" || len(obj.Consumers) != 1 {
		t.Errorf("group object: %+v", obj)
	}
	_, err = c.Plugins.CreateForConsumerGroup(ctx, g.Name, &kong.Plugin{Name: new("rate-limiting"), Config: kong.Configuration{"minute": 1}})
	check("plugin for group", err)
	gp, err := c.Plugins.ListAllForConsumerGroups(ctx, g.ID)
	check("plugins for group", err)
	if len(gp) != 1 {
		t.Errorf("plugins for group: %d", len(gp))
	}
	check("remove member", c.ConsumerGroupConsumers.Delete(ctx, g.Name, new("u0")))
	groups, err := c.ConsumerGroups.ListAll(ctx)
	check("list groups", err)
	if len(groups) != 1 {
		t.Errorf("groups: %d", len(groups))
	}
	g.Tags = kong.StringSlice("t")
	_, err = c.ConsumerGroups.Update(ctx, g)
	check("update group", err)
	check("delete group", c.ConsumerGroups.Delete(ctx, g.ID))

	// Consumers last.
	check("delete consumer", c.Consumers.Delete(ctx, new("u2")))
	if _, err := c.Consumers.Get(ctx, new("u2")); !kong.IsNotFoundErr(err) {
		t.Errorf("deleted consumer: %v", err)
	}
	// go-kong surfaces Kong's messages.
	_, err = c.Services.Create(ctx, &kong.Service{Name: new("svc0"), Host: new("x.example")})
	var apiErr *kong.APIError
	if !errors.As(err, &apiErr) || apiErr.Code() != 409 || !strings.Contains(apiErr.Error(), "UNIQUE violation detected") {
		t.Errorf("duplicate service: %v", err)
	}
}
