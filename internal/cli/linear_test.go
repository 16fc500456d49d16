package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/internal/shareddata"
)

// TestLinearOnCorn runs the README's linear example on the corn data:
// simulate fits PLS from the clients' statistics and writes the model,
// the cross-validation and every client's X-scores and predictions;
// predict and extract apply the model folder to the corn files and give
// what the run wrote. A ridge model predicts too, and extract explains
// that it has no features.
func TestLinearOnCorn(t *testing.T) {
	root := shareddata.Dir(t)
	dir := t.TempDir()
	corn := func(kind, extra string) string {
		path := filepath.Join(dir, kind+".yaml")
		os.WriteFile(path, []byte(`
seed: 1
data:
  source: csv
  root: `+root+`
  modalities:
    - {name: m5, file: corn/m5.csv, kind: signal}
    - {name: mp5, file: corn/mp5.csv, kind: signal}
    - {name: mp6, file: corn/mp6.csv, kind: signal}
  response_file: corn/responses.csv
  responses: [protein]
federation: {clients: 3, partition: response, mix: 0.3}
model: {kind: `+kind+`}
`+extra), 0o644)
		return path
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("fdrmfl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	mods := []string{"--modality", "m5=" + filepath.Join(root, "corn", "m5.csv"), "--modality", "mp5=" + filepath.Join(root, "corn", "mp5.csv"),
		"--modality", "mp6=" + filepath.Join(root, "corn", "mp6.csv")}

	out := filepath.Join(dir, "pls")
	stdout, _ := run("simulate", "--config", corn("pls", "linear: {max_components: 12}\n"), "--out", out)
	if !strings.Contains(stdout, "cross-validation over 5 folds") || !strings.Contains(stdout, "Test error of the PLS model") {
		t.Fatalf("simulate printed:\n%s", stdout)
	}
	for _, f := range []string{"model/manifest.json", "model/model.safetensors", "cv.csv", "cv.json", "results.json", "config.yaml", "features/client-1.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing output %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "rounds.csv")); err == nil {
		t.Error("a linear model wrote rounds.csv")
	}
	// The configuration as run reads back as a valid linear study (the
	// zero network sections it writes are not taken for settings).
	back, err := loadConfig(filepath.Join(out, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Defaults().Validate(); err != nil || back.Model.Kind != "pls" || back.Linear.MaxComponents != 12 {
		t.Fatalf("config.yaml reads back as kind %q, linear %+v: %v", back.Model.Kind, back.Linear, err)
	}
	var res summary
	b, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if err := json.Unmarshal(b, &res); err != nil || res.Model != "pls" || !strings.HasSuffix(res.Chosen, "components") || res.Pooled.R2[0] < 0.5 {
		t.Fatalf("results.json %s (%v)", b, err)
	}
	cv := readCSV(t, filepath.Join(out, "cv.csv"))
	if len(cv) != 13 || strings.Join(cv[0], ",") != "components,cv_mse,chosen" {
		t.Fatalf("cv.csv: %v", cv)
	}
	chosen := 0
	for _, r := range cv[1:] {
		if r[2] == "true" {
			chosen, _ = strconv.Atoi(r[0])
		}
	}
	if res.Chosen != strconv.Itoa(chosen)+" components" {
		t.Fatalf("cv.csv marks %d components, results.json says %s", chosen, res.Chosen)
	}

	// predict and extract on the corn files give the rows the run wrote.
	pred := filepath.Join(dir, "pred.csv")
	_, stderr := run(append([]string{"predict", "--model", filepath.Join(out, "model"), "--responses", filepath.Join(root, "corn", "responses.csv"), "--out", pred}, mods...)...)
	if !strings.Contains(stderr, "protein: n = 80") {
		t.Fatalf("predict printed %q", stderr)
	}
	z := filepath.Join(dir, "z.csv")
	run(append([]string{"extract", "--model", filepath.Join(out, "model"), "--out", z}, mods...)...)
	p, zs := readCSV(t, pred), readCSV(t, z)
	if len(p) != 81 || len(zs) != 81 || len(zs[0]) != chosen+1 {
		t.Fatalf("predict wrote %d rows, extract %d rows of %d columns", len(p), len(zs), len(zs[0]))
	}
	feats := readCSV(t, filepath.Join(out, "features", "client-2.csv"))
	if len(feats[0]) != 2+chosen+2 {
		t.Fatalf("features header %v", feats[0])
	}
	for _, rec := range feats[1:] {
		row, _ := strconv.Atoi(rec[1])
		for k := range chosen + 1 {
			want, got := rec[len(rec)-1], p[row][1] // the prediction, after z1…zA
			if k < chosen {
				want, got = rec[2+k], zs[row][1+k]
			}
			a, _ := strconv.ParseFloat(got, 64)
			w, _ := strconv.ParseFloat(want, 64)
			if math.Abs(a-w) > 1e-5*max(1, math.Abs(w)) {
				t.Fatalf("row %d column %d: %v applied, %v written by the run", row, k, a, w)
			}
		}
	}

	out = filepath.Join(dir, "ridge")
	stdout, _ = run("simulate", "--config", corn("ridge", "linear: {alphas: [0.1, 1, 10]}\n"), "--out", out)
	if !strings.Contains(stdout, "chose α = ") {
		t.Fatalf("simulate printed:\n%s", stdout)
	}
	if h := readCSV(t, filepath.Join(out, "features", "client-1.csv"))[0]; strings.Join(h, ",") != "split,row,protein,pred_protein" {
		t.Fatalf("ridge features header %v", h)
	}
	var stderrBuf bytes.Buffer
	err = Run(context.Background(), append([]string{"extract", "--model", filepath.Join(out, "model")}, mods...), &bytes.Buffer{}, &stderrBuf)
	if err == nil || !strings.Contains(err.Error(), "a ridge model has no features Z beyond its predictions; use fdrmfl predict") {
		t.Fatalf("extract of a ridge model: %v", err)
	}
	run(append([]string{"predict", "--model", filepath.Join(out, "model"), "--out", filepath.Join(dir, "ridge.csv")}, mods...)...)
}
