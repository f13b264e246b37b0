package confighash

import "errors"

// Errors returned (wrapped) by this package; match them with errors.Is.
var (
	// ErrUnsupportedType reports a value whose Go type is not one of the
	// JSON value types listed in the package documentation.
	ErrUnsupportedType = errors.New("unsupported type")
	// ErrNonFinite reports a NaN or infinite number.
	ErrNonFinite = errors.New("non-finite number")
	// ErrInvalidNumber reports a json.Number that is not a JSON number.
	ErrInvalidNumber = errors.New("invalid json.Number")
	// ErrInvalidUTF8 reports a string or map key that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrTooDeep reports maps and arrays nested deeper than 10000 levels,
	// which includes a map or slice that contains itself.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrInvalidType reports an entity type that is empty or contains 0x00.
	ErrInvalidType = errors.New("invalid entity type")
	// ErrMissingID reports an entity whose "id" is absent, not a string, or
	// empty.
	ErrMissingID = errors.New("missing id")
	// ErrDuplicateID reports two entities of one type with the same id.
	ErrDuplicateID = errors.New("duplicate id")
)
