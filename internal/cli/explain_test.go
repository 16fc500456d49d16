package cli

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/internal/shareddata"
)

// TestExplainOnCorn trains a PLS model of the corn protein values and
// explains it: one row per instrument, wavelength and response, the
// wavelengths read from the files' headers (w1100 … w2498), the PLS
// comparison fitted on the same samples, and a plot.
func TestExplainOnCorn(t *testing.T) {
	root := shareddata.Dir(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "corn.yaml")
	os.WriteFile(cfg, []byte(`
seed: 1
data:
  source: csv
  root: `+root+`
  modalities:
    - {name: m5, file: corn/m5.csv, kind: signal}
    - {name: mp5, file: corn/mp5.csv, kind: signal}
  response_file: corn/responses.csv
  responses: [protein]
  preprocess: {"*": "sg1(11,2)+snv"}
federation: {clients: 3}
model: {kind: pls}
linear: {max_components: 8}
`), 0o644)
	var stdout, stderr bytes.Buffer
	model := filepath.Join(dir, "run")
	if err := Run(context.Background(), []string{"simulate", "--config", cfg, "--out", model}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := filepath.Join(dir, "explain")
	stdout.Reset()
	args := []string{"explain", "--model", filepath.Join(model, "model"), "--out", out,
		"--modality", "m5=" + filepath.Join(root, "corn", "m5.csv"), "--modality", "mp5=" + filepath.Join(root, "corn", "mp5.csv"),
		"--responses", filepath.Join(root, "corn", "responses.csv")}
	if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "m5: the model is most sensitive at x = ") || !strings.Contains(stdout.String(), "VIP > 1 on") {
		t.Errorf("explain printed:\n%s", stdout.String())
	}
	rows := readCSV(t, filepath.Join(out, "importance.csv"))
	if len(rows) != 1+2*700 {
		t.Fatalf("%d rows, want a header and 1400", len(rows))
	}
	if rows[1][0] != "m5" || rows[1][2] != "1100" || rows[700][2] != "2498" || rows[701][0] != "mp5" {
		t.Errorf("rows %v … %v", rows[1], rows[700])
	}
	for _, r := range rows[1:] {
		if r[4] == "" || r[5] == "" || r[6] == "" || r[8] != "80" {
			t.Fatalf("row %v: want a sensitivity, a VIP and a coefficient over 80 samples", r)
		}
	}
	f, err := os.Open(filepath.Join(out, "importance.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	// A second run into the same folder is refused, as every --out is.
	if err := Run(context.Background(), args, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second run into %s: %v", out, err)
	}
}

func TestHeaderAxis(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		header string
		info   data.FileInfo
		want   []float64
	}{
		{"w1100,w1102,w1104", data.FileInfo{Delimiter: ","}, []float64{1100, 1102, 1104}},
		{"sample;1100,5;1101,5;1102,5", data.FileInfo{Delimiter: ";", Decimal: ",", IDColumn: "sample"}, []float64{1100.5, 1101.5, 1102.5}},
		{"\"2500 nm\"\t\"2490 nm\"\t\"2480 nm\"", data.FileInfo{Delimiter: "tab"}, []float64{2500, 2490, 2480}},
		{"x1,x2,x3", data.FileInfo{Delimiter: ","}, []float64{1, 2, 3}},
		{"a,b,c", data.FileInfo{Delimiter: ","}, nil},
		{"1100,1104,1102", data.FileInfo{Delimiter: ","}, nil},
		{"band1_1100,band2_1102", data.FileInfo{Delimiter: ","}, nil},
	} {
		path := filepath.Join(dir, "f.csv")
		os.WriteFile(path, []byte(c.header+"\n1,2,3\n"), 0o644)
		c.info.File = path
		if got := headerAxis(c.info); !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.header, got, c.want)
		}
	}
}
