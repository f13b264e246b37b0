package schema

// Check is one of Kong's entity checks: a rule across several fields of a
// record. Exactly one of its members is set. Field names may be dotted
// paths into nested records ("config.redis.host").
type Check struct {
	AtLeastOneOf            []string
	OnlyOneOf               []string
	MutuallyRequired        []string
	MutuallyExclusive       []string
	Distinct                []string
	MutuallyExclusiveSets   *SetsCheck
	Conditional             *Conditional
	ConditionalAtLeastOneOf *ConditionalAtLeastOneOf
	Custom                  *CustomCheck
}

// SetsCheck requires that fields of Set1 and fields of Set2 are not both
// set (mutually_exclusive_sets).
type SetsCheck struct {
	Set1, Set2 []string
}

// Conditional runs ThenMatch against ThenField when IfField passes
// IfMatch. A match is a partial field definition: its validators replace
// those of the field it is applied to.
type Conditional struct {
	IfField   string
	IfMatch   *Field
	ThenField string
	ThenMatch *Field
	// ThenErr, when set, is the @entity message (with %s for IfField).
	ThenErr string
}

// ConditionalAtLeastOneOf requires one of ThenAtLeastOneOf when IfField
// passes IfMatch, else (when it passes ElseMatch) one of
// ElseThenAtLeastOneOf.
type ConditionalAtLeastOneOf struct {
	IfField              string
	IfMatch              *Field
	ThenAtLeastOneOf     []string
	ThenErr              string
	ElseMatch            *Field
	ElseThenAtLeastOneOf []string
	ElseThenErr          string
}

// CustomCheck is Kong's custom_entity_check: Fn sees only FieldSources
// and returns an error whose text becomes an @entity message.
type CustomCheck struct {
	FieldSources []string
	Fn           func(entity map[string]any) error
	// RunWithMissingFields runs the check on a partial update that lacks
	// some of FieldSources.
	RunWithMissingFields bool
	// RunWithInvalidFields runs the check even when one of FieldSources
	// failed its own validation.
	RunWithInvalidFields bool
}
