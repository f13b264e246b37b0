package entity

import "gatehouse.dev/shared/schema"

// keyAuthCredentialsType is the keyauth_credentials DAO of the key-auth
// plugin (kong/plugins/key-auth/daos.lua): a key, generated (32 random
// alphanumerics) when not given, for a consumer; credentials accept a ttl.
func keyAuthCredentialsType() *Type {
	s := &schema.Schema{
		Name:        KeyAuthCredentials,
		PrimaryKey:  []string{"id"},
		EndpointKey: "key",
		CacheKey:    []string{"key"},
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			consumerOwner(),
			{Name: "key", Type: schema.String, Unique: true, Auto: true},
			schema.Tags(),
		},
	}
	return &Type{
		Schema: s, Name: KeyAuthCredentials, AdminName: "key-auths", NestedName: "key-auth",
		GenerateAdminAPI: true, TTL: true,
	}
}

// consumerOwner is the consumer foreign key of credentials: required,
// deleted with the consumer.
func consumerOwner() *schema.Field {
	return schema.ForeignKey("consumer", Consumers).With(func(f *schema.Field) {
		f.Required, f.OnDelete = true, "cascade"
	})
}
