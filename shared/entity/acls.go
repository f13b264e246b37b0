package entity

import "gatehouse.dev/shared/schema"

// aclsType is the acls DAO of the acl plugin (kong/plugins/acl/daos.lua):
// a group a consumer belongs to. It has no endpoint key: the acl plugin's
// own routes address /consumers/{c}/acls/{group} by group.
func aclsType() *Type {
	s := &schema.Schema{
		Name:       ACLs,
		PrimaryKey: []string{"id"},
		CacheKey:   []string{"consumer", "group"},
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			consumerOwner(),
			{Name: "group", Type: schema.String, Required: true},
			schema.Tags(),
		},
	}
	return &Type{Schema: s, Name: ACLs, AdminName: "acls", NestedName: "acls", GenerateAdminAPI: true}
}
