package experiment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/experiment"
)

// TestFixedSplitAndPreprocessing runs a study with a fixed split read from
// a file and a preprocessing chain: every repetition tests on exactly the
// rows the file marks test, and records the chain it applied.
func TestFixedSplitAndPreprocessing(t *testing.T) {
	_, fsys := tinyStudy(t)
	var split strings.Builder
	split.WriteString("id,set\n")
	want := map[int]string{}
	for r := range 120 {
		set := "train"
		switch {
		case r%6 == 0:
			set = "test"
		case r%6 == 1:
			set = "val"
		}
		want[r] = map[string]string{"val": "validation"}[set]
		if want[r] == "" {
			want[r] = set
		}
		fmt.Fprintf(&split, "%d,%s\n", r+1, set)
	}
	fsys["split.csv"] = &fstest.MapFile{Data: []byte(split.String())}
	cfg := fdrmfl.Config{Data: fdrmfl.Data{Source: "csv", ResponseFile: "y.csv", Preprocess: map[string]string{"b": "sg(5,2)+snv"}}}
	cfg.Data.Modalities = append(cfg.Data.Modalities, dataSpec("a", "a.csv", "vector"), dataSpec("b", "b.csv", "signal"))
	spec, err := experiment.Custom(cfg, experiment.Study{Name: "fixed", Seeds: 2, SplitFile: "split.csv", SplitColumn: "set"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := experiment.Run(context.Background(), []experiment.Spec{spec},
		experiment.Options{FS: fsys, Methods: []string{experiment.MPLS, experiment.MPersPLS}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]map[int]string{} // unit → row → set
	for _, a := range res.Assignments {
		k := a.Unit.String()
		if seen[k] == nil {
			seen[k] = map[int]string{}
		}
		for _, r := range a.Rows {
			if want[r] != a.Set {
				t.Fatalf("%s: row %d in %s, the file says %s", k, r+1, a.Set, want[r])
			}
			seen[k][r] = a.Set
		}
	}
	if len(seen) != 4 {
		t.Fatalf("%d units, want 4 (2 splits × 2 seeds)", len(seen))
	}
	for k, rows := range seen {
		if len(rows) != 120 {
			t.Errorf("%s: %d rows assigned, want all 120", k, len(rows))
		}
	}
	pre := 0
	for _, c := range res.Choices {
		if c.Method == experiment.MethodPreprocessing {
			pre++
			if c.Setting != "b" || c.Value != "sg(5,2)+snv" {
				t.Errorf("preprocessing choice %+v", c)
			}
		}
	}
	if pre != 4 {
		t.Errorf("%d units recorded their preprocessing, want 4", pre)
	}
}

func TestReadSplitErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"one.csv": {Data: []byte("set\ntrain\ntest\nholdout\n")},
		"two.csv": {Data: []byte("a,b\ntrain,test\n")},
	}
	for _, tc := range []struct {
		file, col string
		rows      int
		want      string
	}{
		{"one.csv", "", 3, `line 4: set "holdout"`},
		{"one.csv", "", 2, "3 rows, the data have 2"},
		{"two.csv", "", 1, "name the one"},
		{"two.csv", "c", 1, `no column "c"`},
		{"none.csv", "", 1, "none.csv"},
	} {
		_, err := experiment.ReadSplit(fsys, tc.file, tc.col, tc.rows)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.file, err, tc.want)
		}
	}
}
