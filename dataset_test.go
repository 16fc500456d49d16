package fdrmfl

import (
	"slices"
	"strings"
	"testing"
)

func TestParseRows(t *testing.T) {
	cases := []struct {
		spec string
		n    int
		want []int
		err  string
	}{
		{"", 10, nil, ""},
		{"1-3", 10, []int{0, 1, 2}, ""},
		{"2, 5-6", 10, []int{1, 4, 5}, ""},
		{"9-11", 10, nil, "past the data's 10 rows"},
		{"3-1", 10, nil, "not a row or a range"},
		{"0", 10, nil, "not a row or a range"},
		{"1-2,2-3", 10, nil, "row 2 is selected twice"},
		{"a-b", -1, nil, "not a row or a range"},
	}
	for _, c := range cases {
		got, err := parseRows(c.spec, c.n)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, %v; want %v", c.spec, got, err, c.want)
		}
	}
}
