package confighash_test

import (
	"fmt"

	"gatehouse.dev/shared/confighash"
)

func ExampleIndex() {
	var ix confighash.Index
	_ = ix.Put("services", map[string]any{"id": "s1", "host": "example.com", "port": 80, "path": nil})
	before := ix.Hash()
	_ = ix.Put("services", map[string]any{"id": "s1", "host": "example.com", "port": 8080})
	fmt.Println(ix.Hash() != before, ix.Len())
	ix.Delete("services", "s1")
	fmt.Println(ix.Hash())
	// Output:
	// true 1
	// 00000000000000000000000000000000
}

func ExampleCanonical() {
	b, _ := confighash.Canonical(map[string]any{"b": []any{1.5, nil, "<é>"}, "a": 5.0, "z": nil})
	fmt.Println(string(b))
	// Output: {"a":5,"b":[1.5,null,"<é>"]}
}
