package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
)

// TestDefaultConfigIsTrue keeps "fdrmfl config" honest: the printed file
// must parse to exactly the library's defaults.
func TestDefaultConfigIsTrue(t *testing.T) {
	var cfg fdrmfl.Config
	if err := parseConfig("default.yaml", []byte(defaultConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Model.Kind != fdrmfl.KindFDRMFL {
		t.Fatalf("the printed model.kind parses to %q", cfg.Model.Kind)
	}
	got, want := cfg.Defaults(), fdrmfl.Config{}.Defaults()
	got.Model, want.Model = fdrmfl.DefaultModel().Defaults(), fdrmfl.DefaultModel().Defaults() // the file leaves modalities to the data
	got.Loss, want.Loss = nil, nil
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("the printed configuration parses to\n%+v\nthe defaults are\n%+v", got, want)
	}
}

// normalize makes nil and empty collections compare equal.
func normalize(c fdrmfl.Config) fdrmfl.Config {
	if len(c.Data.Scale) == 0 {
		c.Data.Scale = nil
	}
	if len(c.Federation.Lacks) == 0 {
		c.Federation.Lacks = nil
	}
	return c
}

func TestConfigFileErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"federation:\n  clientz: 3\n", `line 2: unknown key "clientz" in federation (allowed: aggregator, beta, byzantine, clients,`},
		{"rounds: 3\n", `line 1: unknown key "rounds" in the top level`},
		{"model:\n  modalities:\n    - name: a\n      encoder: {typ: mlp}\n", `unknown key "typ" in model.modalities[0].encoder`},
		{"federation:\n  clients: many\n", "line 2"},
		{"data: [1, 2]\n", "cannot unmarshal"},
	}
	for _, c := range cases {
		var cfg fdrmfl.Config
		err := parseConfig("c.yaml", []byte(c.yaml), &cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.yaml, err, c.want)
		}
	}
}

// TestSimulateThenExtract runs the command line end to end on a small
// federation, then applies the written model to the test rows of a client
// and compares with the features the run wrote.
func TestSimulateThenExtract(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "small.yaml")
	os.WriteFile(cfgPath, []byte(`
seed: 3
data: {function: 2, samples: 200}
federation: {clients: 2, rounds: 2}
model: {latent: 16, features: 3}
train: {epochs: 1}
`), 0o644)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), []string{"simulate", "--config", cfgPath, "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, f := range []string{"model/manifest.json", "model/model.safetensors", "rounds.csv", "rounds.json", "results.json", "config.yaml", "run.log", "features/client-1.csv", "features/client-2.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing output %s", f)
		}
	}
	if !strings.Contains(stdout.String(), "pooled") {
		t.Errorf("no results table in:\n%s", stdout.String())
	}
	rows := readCSV(t, filepath.Join(out, "rounds.csv"))
	if len(rows) != 3 || rows[0][0] != "round" {
		t.Fatalf("rounds.csv has %d rows: %v", len(rows), rows)
	}
	// Extract every sample of the same data with the saved model and
	// compare with the features the run wrote for client 1's samples.
	zPath := filepath.Join(dir, "z.csv")
	stderr.Reset()
	if err := Run(context.Background(), []string{"extract", "--model", filepath.Join(out, "model"), "--config", cfgPath, "--out", zPath}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	z := readCSV(t, zPath)
	if len(z) != 201 || strings.Join(z[0], ",") != "row,z1,z2,z3" {
		t.Fatalf("extract wrote %d rows, header %v", len(z), z[0])
	}
	feats := readCSV(t, filepath.Join(out, "features", "client-1.csv"))
	for _, rec := range feats[1:] {
		row := rec[1]
		var ext []string
		for _, e := range z[1:] {
			if e[0] == row {
				ext = e[1:]
			}
		}
		if len(ext) != 3 {
			t.Fatalf("row %s missing from the extraction", row)
		}
		for k := range ext {
			a, _ := strconv.ParseFloat(ext[k], 64)
			b, _ := strconv.ParseFloat(rec[2+k], 64)
			if math.Abs(a-b) > 1e-5*max(1, math.Abs(b)) {
				t.Fatalf("row %s: extract gives %v, the run wrote %v", row, ext, rec[2:5])
			}
		}
	}
	if !strings.Contains(stderr.String(), "R²") {
		t.Errorf("extract printed no error for data with responses: %q", stderr.String())
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestCommandLineConventions checks what a user of command-line tools
// expects: help on standard output with success, usage mistakes with exit
// status 2 and the message on standard error, a version, and no silent
// overwriting of an earlier run.
func TestCommandLineConventions(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "results.json"), []byte("{}"), 0o644)
	existing := filepath.Join(dir, "pred.csv")
	os.WriteFile(existing, []byte("x"), 0o644)
	cases := []struct {
		args             []string
		code             int
		stdout, stderr   string // substrings expected
		noStdout, noErrs bool
	}{
		{args: []string{"--help"}, code: 0, stdout: "simulate", noErrs: true},
		{args: []string{"help"}, code: 0, stdout: "Commands:"},
		{args: []string{"simulate", "-h"}, code: 0, stdout: "--config", noErrs: true},
		{args: []string{"reproduce", "--help"}, code: 0, stdout: "-seeds int"},
		{args: []string{"--version"}, code: 0, stdout: "fdrmfl "},
		{args: []string{}, code: 2, stderr: "Usage:", noStdout: true},
		{args: []string{"simulat"}, code: 2, stderr: "Commands:", noStdout: true},
		{args: []string{"simulate", "--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus", noStdout: true},
		{args: []string{"simulate", "stray"}, code: 2},
		{args: []string{"server"}, code: 2},
		{args: []string{"predict"}, code: 2},
		{args: []string{"simulate", "--out", full}, code: 1},
		{args: []string{"predict", "--model", filepath.Join(dir, "none"), "--out", existing}, code: 1},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		err := Run(context.Background(), c.args, &stdout, &stderr)
		if got := ExitCode(err); got != c.code {
			t.Errorf("%v: exit %d (%v), want %d", c.args, got, err, c.code)
		}
		if !strings.Contains(stdout.String(), c.stdout) {
			t.Errorf("%v: standard output %q lacks %q", c.args, stdout.String(), c.stdout)
		}
		if !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("%v: standard error %q lacks %q", c.args, stderr.String(), c.stderr)
		}
		if c.noStdout && stdout.Len() > 0 {
			t.Errorf("%v: printed %q on standard output", c.args, stdout.String())
		}
		if c.noErrs && stderr.Len() > 0 {
			t.Errorf("%v: printed %q on standard error", c.args, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"simulate", "--out", full}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("simulate into a used folder: %v, want a refusal naming --force", err)
	}
}

// writeStudy writes a small CSV dataset and a study of it with the given
// seeds into dir, and returns the study's file.
func writeStudy(t *testing.T, dir string, seeds int) string {
	t.Helper()
	var x, y strings.Builder
	x.WriteString("b1,b2,b3,b4,b5,b6\n")
	y.WriteString("y\n")
	for i := range 60 {
		var vals []string
		s := 0.0
		for j := range 6 {
			v := math.Sin(float64(i*7+j*3)) + float64(j%2)*math.Cos(float64(i))
			s += v * float64(j+1) / 6
			vals = append(vals, strconv.FormatFloat(v, 'g', -1, 64))
		}
		x.WriteString(strings.Join(vals, ",") + "\n")
		y.WriteString(strconv.FormatFloat(s, 'g', -1, 64) + "\n")
	}
	os.WriteFile(filepath.Join(dir, "x.csv"), []byte(x.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "y.csv"), []byte(y.String()), 0o644)
	cfgPath := filepath.Join(dir, "study.yaml")
	os.WriteFile(cfgPath, fmt.Appendf(nil, `
data:
  source: csv
  modalities: [{name: x, file: x.csv, kind: vector}]
  response_file: y.csv
federation: {rounds: 2}
train: {epochs: 2}
study: {name: mine, splits: [iid], seeds: %d, clients: 2}
`, seeds), 0o644)
	return cfgPath
}

// TestReproduceResumes stops a reproduce run once a repetition is saved
// and resumes it with --resume: it ends with the rows of an uninterrupted
// run, and refuses to resume with other settings.
func TestReproduceResumes(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeStudy(t, dir, 4)
	args := func(out string, more ...string) []string {
		return append([]string{"reproduce", "--config", cfgPath, "--methods", "Ridge (federated),PLS (federated)", "--workers", "1", "--out", out}, more...)
	}
	var stdout, stderr bytes.Buffer
	whole := filepath.Join(dir, "whole")
	if err := Run(context.Background(), args(whole), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := filepath.Join(dir, "stopped")
	ctx, stop := context.WithCancel(context.Background())
	go func() { // stop as soon as the first repetition is on disk
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(out, "units", "*.json")); len(m) > 0 {
				stop()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	stdout.Reset()
	if err := Run(ctx, args(out), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	stop()
	if !strings.Contains(stdout.String(), "--resume") {
		t.Logf("the run finished before the stop took effect:\n%s", stdout.String())
	}
	if err := Run(context.Background(), args(out, "--seeds", "2", "--resume"), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Fatalf("resuming with other settings: %v", err)
	}
	if err := Run(context.Background(), args(out), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("a second run into the stopped one's folder: %v", err)
	}
	stdout.Reset()
	if err := Run(context.Background(), args(out, "--resume"), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "resuming") {
		t.Errorf("the resumed run did not say it resumed:\n%s", stdout.String())
	}
	for _, f := range []string{"rows.csv", "splits.csv", "summary.csv"} {
		a, _ := os.ReadFile(filepath.Join(whole, f))
		b, _ := os.ReadFile(filepath.Join(out, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s of the resumed run differs from the uninterrupted run's", f)
		}
	}
}

// TestReproduceStudyThenRender runs a small study of CSV data of one's own
// and rebuilds its tables from results.json.
func TestReproduceStudyThenRender(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeStudy(t, dir, 2)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	args := []string{"reproduce", "--config", cfgPath, "--methods", "FDRMFL,Ridge (federated)", "--out", out}
	if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	tables, err := os.ReadFile(filepath.Join(out, "tables.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mine", "FDRMFL → head", "Ridge (federated)", "mean ± sd over 2 repetitions"} {
		if !strings.Contains(string(tables), want) {
			t.Errorf("tables.md lacks %q:\n%s", want, tables)
		}
	}
	if rows := readCSV(t, filepath.Join(out, "summary.csv")); len(rows) < 3 || rows[0][len(rows[0])-1] != "client_r2_sd" {
		t.Errorf("summary.csv: %v", rows)
	}
	os.Remove(filepath.Join(out, "tables.md"))
	if err := Run(context.Background(), []string{"reproduce", "--render", "--out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("render: %v\n%s", err, stderr.String())
	}
	again, err := os.ReadFile(filepath.Join(out, "tables.md"))
	if err != nil || !bytes.Equal(again, tables) {
		t.Errorf("--render wrote different tables (%v):\n%s", err, again)
	}
	// Flags after the experiment names count too.
	err = Run(context.Background(), []string{"reproduce", "sim1", "--methods", "LDA", "--out", out}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `unknown method "LDA"`) {
		t.Errorf("unknown method: %v", err)
	}
}
