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
			ExpiresAt(),
		},
	}
	return &Type{
		Schema: s, Name: KeyAuthCredentials, AdminName: "key-auths", NestedName: "key-auth",
		GenerateAdminAPI: true, TTL: true,
	}
}

// ExpiresAt is Gatehouse's field for a credential's expiry: unix
// seconds, or null for none. Kong keeps a TTL credential's expiry in a
// database column that hybrid mode never sends, so its data planes accept
// expired credentials; Gatehouse stores the expiry in the entity, so it
// reaches data planes, which refuse the credential once it has passed. The
// Admin API sets it from Kong's "ttl" option (now + ttl) and shows "ttl"
// (seconds left) beside it; it may also be given directly.
func ExpiresAt() *schema.Field {
	return &schema.Field{Name: "expires_at", Type: schema.Integer, Between: schema.Range(0, 1<<53)}
}

// consumerOwner is the consumer foreign key of credentials: required,
// deleted with the consumer.
func consumerOwner() *schema.Field {
	return schema.ForeignKey("consumer", Consumers).With(func(f *schema.Field) {
		f.Required, f.OnDelete = true, "cascade"
	})
}
