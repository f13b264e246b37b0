package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Kong's label rules (kong/tools/utils.lua validate_labels, after Kong's
// Labels AIP): at most maxLabels labels; keys and values of 1 to
// maxLabelLen characters matching labelPattern case-insensitively, and
// keys not beginning with a reserved prefix.
const (
	maxLabels   = 10
	maxLabelLen = 63
	// labelPattern and keyPattern are the patterns Kong's messages quote.
	labelPattern = `[a-z0-9]([\w\.:-]*[a-z0-9]|)$`
	keyPattern   = `(?!kong)(?!konnect)(?!insomnia)(?!mesh)(?!kic)` + labelPattern
)

// labelRE is labelPattern anchored at both ends, case-insensitive. Go's
// regexp has no look-ahead, so the reserved key prefixes are checked apart.
var labelRE = regexp.MustCompile(`(?i)^[a-z0-9]([\w.:-]*[a-z0-9]|)$`)

var reservedKeyPrefixes = []string{"kong", "konnect", "insomnia", "mesh", "kic"}

// ParseLabels turns the GATEHOUSE_CLUSTER_DP_LABELS items ("key:value",
// split at the first colon) into a map, with Kong's validation and
// messages. A key given twice keeps its last value.
func ParseLabels(items []string) (map[string]string, error) {
	if len(items) > maxLabels {
		return nil, fmt.Errorf("labels validation failed: count exceeded %d max elements", maxLabels)
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(items))
	for _, kv := range items {
		// Without a colon both key and value are empty, as in Kong.
		k, v, found := strings.Cut(kv, ":")
		if !found {
			k, v = "", ""
		}
		if err := validateLabel(k, true); err != nil {
			return nil, errors.New("label key validation failed: " + err.Error())
		}
		if err := validateLabel(v, false); err != nil {
			return nil, errors.New("label value validation failed: " + err.Error())
		}
		out[k] = v
	}
	return out, nil
}

func validateLabel(s string, key bool) error {
	if s == "" || len(s) > maxLabelLen {
		return fmt.Errorf("%s must have between 1 and %d characters", s, maxLabelLen)
	}
	pattern := labelPattern
	ok := labelRE.MatchString(s)
	if key {
		pattern = keyPattern
		lower := strings.ToLower(s)
		for _, p := range reservedKeyPrefixes {
			if strings.HasPrefix(lower, p) {
				ok = false
			}
		}
	}
	if !ok {
		return fmt.Errorf("%s is invalid. Must match pattern: %s", s, pattern)
	}
	return nil
}
