package entity

import "gatehouse.dev/shared/schema"

// snisType is kong/db/schema/entities/snis.lua. Kong deletes a
// certificate's SNIs in its DAO; here the foreign key says so
// (on_delete cascade), so that every store does it.
func snisType() *Type {
	s := &schema.Schema{
		Name:        SNIs,
		PrimaryKey:  []string{"id"},
		EndpointKey: "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.WildcardHost().With(func(f *schema.Field) {
				f.Name, f.Required, f.Unique = "name", true, true
			}),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			schema.Tags(),
			schema.ForeignKey("certificate", Certificates).With(func(f *schema.Field) {
				f.Required, f.OnDelete = true, "cascade"
			}),
		},
	}
	return &Type{Schema: s, Name: SNIs, AdminName: SNIs, GenerateAdminAPI: true}
}
