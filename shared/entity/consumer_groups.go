package entity

import "gatehouse.dev/shared/schema"

// MembershipNamespace is the UUID namespace of consumer group membership
// ids: the UUIDv5 of "consumer_group_consumers" in the namespace of Kong's
// declarative ids (fd02801f-0957-4a15-a55a-c8d9606f30b5), as Kong derives
// a namespace per table.
var MembershipNamespace = schema.UUIDv5("fd02801f-0957-4a15-a55a-c8d9606f30b5", ConsumerGroupConsumers)

// MembershipID is the id a consumer group membership gets when none is
// given: the UUIDv5 of "<group id>:<consumer id>" in MembershipNamespace,
// so the same membership has the same id on every control plane.
func MembershipID(groupID, consumerID string) string {
	return schema.UUIDv5(MembershipNamespace, groupID+":"+consumerID)
}

// consumerGroupsType is Kong's (Enterprise) consumer_groups entity.
func consumerGroupsType() *Type {
	s := &schema.Schema{
		Name:        ConsumerGroups,
		PrimaryKey:  []string{"id"},
		EndpointKey: "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "name", Type: schema.String, Required: true, Unique: true},
			schema.Tags(),
		},
	}
	return &Type{Schema: s, Name: ConsumerGroups, AdminName: ConsumerGroups, GenerateAdminAPI: true}
}

// consumerGroupConsumersType is Kong's (Enterprise) membership of a
// consumer in a consumer group, managed under
// /consumer_groups/{g}/consumers rather than by generated endpoints.
// Kong's primary key is the pair (consumer_group, consumer); Gatehouse
// gives every entity an id (the change log and the config hash key on
// it), so memberships get one too, MembershipID by default, and the pair
// is the cache key (unique).
func consumerGroupConsumersType() *Type {
	cascade := func(name, ref string) *schema.Field {
		return schema.ForeignKey(name, ref).With(func(f *schema.Field) {
			f.Required, f.OnDelete = true, "cascade"
		})
	}
	s := &schema.Schema{
		Name:       ConsumerGroupConsumers,
		PrimaryKey: []string{"id"},
		CacheKey:   []string{"consumer_group", "consumer"},
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			cascade("consumer_group", ConsumerGroups),
			cascade("consumer", Consumers),
		},
	}
	return &Type{
		Schema: s, Name: ConsumerGroupConsumers, AdminName: ConsumerGroupConsumers, NestedName: "consumers",
		Prepare: func(in map[string]any, ctx schema.Context) {
			if ctx != schema.Insert && ctx != schema.Upsert || in["id"] != nil {
				return
			}
			group, ok1 := foreignID(in["consumer_group"])
			consumer, ok2 := foreignID(in["consumer"])
			if ok1 && ok2 {
				in["id"] = MembershipID(group, consumer)
			}
		},
	}
}

// foreignID returns the id of a foreign key value {"id": "<uuid>"}.
func foreignID(v any) (string, bool) {
	m, _ := v.(map[string]any)
	id, ok := m["id"].(string)
	return id, ok && schema.IsUUID(id)
}
