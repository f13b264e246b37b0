package entity

import "gatehouse.dev/shared/schema"

// consumersType is kong/db/schema/entities/consumers.lua.
func consumersType() *Type {
	s := &schema.Schema{
		Name:        Consumers,
		PrimaryKey:  []string{"id"},
		EndpointKey: "username",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "username", Type: schema.String, Unique: true},
			{Name: "custom_id", Type: schema.String, Unique: true},
			schema.Tags(),
		},
		EntityChecks: []schema.Check{
			{AtLeastOneOf: []string{"custom_id", "username"}},
		},
	}
	return &Type{Schema: s, Name: Consumers, AdminName: Consumers, GenerateAdminAPI: true}
}
