package entity

import (
	"crypto/sha1" //nolint:gosec // Kong's basic-auth stores sha1(password .. consumer_id); Gatehouse must match it.
	"encoding/hex"

	"gatehouse.dev/shared/schema"
)

// basicAuthCredentialsType is the basicauth_credentials DAO of the
// basic-auth plugin (kong/plugins/basic-auth/daos.lua). Its transformation
// stores the password hashed as kong/plugins/basic-auth/crypto.lua does,
// whenever a write carries one.
func basicAuthCredentialsType() *Type {
	s := &schema.Schema{
		Name:        BasicAuthCredentials,
		PrimaryKey:  []string{"id"},
		EndpointKey: "username",
		CacheKey:    []string{"username"},
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			consumerOwner(),
			{Name: "username", Type: schema.String, Required: true, Unique: true},
			{Name: "password", Type: schema.String, Required: true},
			schema.Tags(),
		},
	}
	return &Type{
		Schema: s, Name: BasicAuthCredentials, AdminName: "basic-auths", NestedName: "basic-auth",
		GenerateAdminAPI: true,
		Transform:        hashBasicAuthPassword,
		TransformNeeds:   []string{"consumer"},
	}
}

// hashBasicAuthPassword replaces a non-empty password given with the
// write by its hash, when the consumer id it is salted with is known. A
// write without a password (a PATCH of the username) keeps the stored
// hash; invalid values are left for validation to report.
func hashBasicAuthPassword(in map[string]any, _ schema.Context) {
	password, ok := in["password"].(string)
	if !ok || password == "" {
		return
	}
	consumer, _ := in["consumer"].(map[string]any)
	id, ok := consumer["id"].(string)
	if !ok || id == "" {
		return
	}
	in["password"] = HashBasicAuthPassword(id, password)
}

// HashBasicAuthPassword is Kong's basic-auth crypto.hash: the hex SHA-1 of
// the password followed by the consumer id.
func HashBasicAuthPassword(consumerID, password string) string {
	sum := sha1.Sum([]byte(password + consumerID)) //nolint:gosec // see import comment
	return hex.EncodeToString(sum[:])
}
