package entity

import (
	"fmt"
	"time"
)

// The table names of the entity types New defines.
//
//nolint:gosec // G101: table names, not credentials
const (
	Services               = "services"
	Routes                 = "routes"
	Consumers              = "consumers"
	Plugins                = "plugins"
	Upstreams              = "upstreams"
	Targets                = "targets"
	Certificates           = "certificates"
	SNIs                   = "snis"
	CACertificates         = "ca_certificates"
	KeyAuthCredentials     = "keyauth_credentials"
	BasicAuthCredentials   = "basicauth_credentials"
	ACLs                   = "acls"
	ConsumerGroups         = "consumer_groups"
	ConsumerGroupConsumers = "consumer_group_consumers"
)

// New returns the catalog of Kong's entities as Gatehouse stores them,
// with plugin configurations validated by the plugins' own schemas
// (plugins may be nil: then no plugin is enabled). Each call builds new,
// independent types. It fails only if a definition is invalid.
func New(plugins PluginSchemas) (*Catalog, error) {
	// Listed in Kong's usual order; the catalog moves parents first.
	types := []*Type{
		servicesType(),
		routesType(),
		consumersType(),
		consumerGroupsType(),
		consumerGroupConsumersType(),
		pluginsType(plugins),
		upstreamsType(),
		targetsType(),
		certificatesType(),
		snisType(),
		caCertificatesType(time.Now),
		keyAuthCredentialsType(),
		basicAuthCredentialsType(),
		aclsType(),
	}
	for _, t := range types {
		if err := t.Schema.Check(); err != nil {
			return nil, fmt.Errorf("entity type %s: %w", t.Name, err)
		}
	}
	return newCatalog(types)
}
