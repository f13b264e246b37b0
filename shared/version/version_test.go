package version

import "testing"

func TestParse(t *testing.T) {
	t.Parallel()
	good := map[string]Semver{
		"1.2.3":                     {1, 2, 3},
		"3.10.0":                    {3, 10, 0},
		"1.2.1000":                  {1, 2, 1000},
		"1.2.3-rc1":                 {1, 2, 3},
		"1.2.3.4":                   {1, 2, 3},
		"3.10.0-enterprise-edition": {3, 10, 0},
	}
	for in, want := range good {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1", "1.2", "a.b.c", "1.x.3", "1.2.x", "-1.2.3", "1..3"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded; want an error", in)
		}
	}
}
