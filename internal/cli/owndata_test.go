package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl"
)

// readmeSection returns the text of the README section with the given
// heading, up to the next heading of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	s = s[i+len(heading)+2:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// codeBlocks returns the fenced blocks of a language in text.
func codeBlocks(text, lang string) []string {
	var out []string
	for {
		i := strings.Index(text, "```"+lang+"\n")
		if i < 0 {
			return out
		}
		text = text[i+len(lang)+4:]
		j := strings.Index(text, "```")
		out = append(out, text[:j])
		text = text[j+3:]
	}
}

// TestOwnDataREADME runs the commands of the README's "Your own data"
// section on examples/own-data, as a new user would from a fresh clone,
// and checks what the section says they do: IDs, a semicolon and
// decimal-comma CSV, replicates, a failed scan, missing responses, a fixed
// split and JCAMP-DX files.
func TestOwnDataREADME(t *testing.T) {
	section := readmeSection(t, "## Your own data")
	root := filepath.Join("..", "..")
	out := t.TempDir()

	// The configuration shown is the one shipped.
	yamls := codeBlocks(section, "yaml")
	if len(yamls) != 1 {
		t.Fatalf("%d yaml blocks in the section, want 1", len(yamls))
	}
	var shown fdrmfl.Config
	if err := parseConfig("README", []byte(yamls[0]), &shown); err != nil {
		t.Fatal(err)
	}
	shipped, err := loadConfig(filepath.Join(root, "examples", "own-data", "wheat.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	shipped.Data.Root = shown.Data.Root
	if !reflect.DeepEqual(shown, shipped) {
		t.Errorf("the README shows\n%+v\nexamples/own-data/wheat.yaml is\n%+v", shown, shipped)
	}

	// Its commands, with paths made to point into the repository and the
	// outputs into a temporary folder.
	var cmds [][]string
	for _, block := range codeBlocks(section, "sh") {
		for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
			rest, ok := strings.CutPrefix(strings.TrimSpace(line), "fdrmfl ")
			if !ok {
				continue
			}
			args := strings.Fields(rest)
			for i, a := range args {
				name, path, isMod := strings.Cut(a, "=")
				if !isMod {
					name, path = "", a
				}
				switch {
				case strings.HasPrefix(path, "examples/"):
					path = filepath.Join(root, path)
				case strings.HasPrefix(path, "out/"):
					path = filepath.Join(out, path)
				}
				if isMod {
					args[i] = name + "=" + path
				} else {
					args[i] = path
				}
			}
			cmds = append(cmds, args)
		}
	}
	if len(cmds) != 2 || cmds[0][0] != "simulate" || cmds[1][0] != "predict" {
		t.Fatalf("the section's commands: %q", cmds)
	}
	var stderr bytes.Buffer
	for _, args := range cmds {
		var stdout bytes.Buffer
		stderr.Reset()
		if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("fdrmfl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
	}
	wheat := filepath.Join(out, "out", "wheat")

	// The log names what the section says it does, with files and lines.
	log, err := os.ReadFile(filepath.Join(wheat, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`source="modality a" file=instrument-a.csv format=CSV delimiter=; decimal=, id_column=sample detected=delimiter,decimal,id_column`,
		`format=JCAMP-DX`,
		`msg="data read" samples=60 joined_by="sample ID"`,
		`msg="replicates averaged" source="modality a" samples=10 rows=20`,
		`msg="no values: the sample lacks modality a" file=instrument-a.csv line=21 sample=S017`,
		`msg="no value of protein: the sample is left out for that response" file=reference.csv`,
		`msg="samples without any response are left out of training and evaluation" samples=1 of=60`,
		`msg="fixed split (data.split)" client=client-1`,
	} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("run.log lacks %s", want)
		}
	}

	// Features by sample ID; the test samples are those the split names.
	ref := readCSVSep(t, filepath.Join(root, "examples", "own-data", "reference.csv"), ';')
	test := map[string]bool{}
	for _, r := range ref[1:] {
		if r[3] == "test" && r[1]+r[2] != "" {
			test[r[0]] = true
		}
	}
	seen := 0
	for _, c := range []string{"client-1", "client-2", "client-3"} {
		rows := readCSV(t, filepath.Join(wheat, "features", c+".csv"))
		if strings.Join(rows[0][:2], ",") != "split,id" {
			t.Fatalf("%s header %v", c, rows[0])
		}
		for _, r := range rows[1:] {
			if (r[0] == "test") != test[r[1]] {
				t.Errorf("%s: sample %s is in the %s set", c, r[1], r[0])
			}
			if r[0] == "test" {
				seen++
			}
			if r[1] == "S052" {
				t.Errorf("S052, without any response, is in the features")
			}
		}
	}
	if seen != len(test) {
		t.Errorf("%d test samples in the features, the split names %d", seen, len(test))
	}

	// Results count each response's own samples.
	var res struct {
		Pooled fdrmfl.Metrics `json:"pooled_test"`
	}
	b, err := os.ReadFile(filepath.Join(wheat, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Pooled.N != len(test) || len(res.Pooled.Count) != 2 || res.Pooled.Count[1] >= res.Pooled.N {
		t.Errorf("pooled test metrics %+v", res.Pooled)
	}

	// The configuration the run wrote runs again to the same features.
	again := filepath.Join(out, "again")
	var o, e bytes.Buffer
	if err := Run(context.Background(), []string{"simulate", "--config", filepath.Join(wheat, "config.yaml"), "--out", again, "--quiet"}, &o, &e); err != nil {
		t.Fatalf("simulate with the written config.yaml: %v\n%s", err, e.String())
	}
	for _, c := range []string{"client-1", "client-2", "client-3"} {
		a, _ := os.ReadFile(filepath.Join(wheat, "features", c+".csv"))
		b, _ := os.ReadFile(filepath.Join(again, "features", c+".csv"))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: the written configuration gives other features", c)
		}
	}

	// The new samples' predictions, by ID, and their error.
	pred := readCSV(t, filepath.Join(wheat, "new.csv"))
	if strings.Join(pred[0], ",") != "id,pred_protein,pred_moisture" || len(pred) != 7 || pred[1][0] != "N001" || pred[6][0] != "N006" {
		t.Fatalf("new.csv: %v", pred)
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if r, ok := strings.CutPrefix(line, "protein: n = 6, "); ok {
			_, r2s, _ := strings.Cut(r, "R² = ")
			if r2, err := strconv.ParseFloat(r2s, 64); err != nil || r2 < 0.5 {
				t.Errorf("the new samples' protein: %s", line)
			}
			return
		}
	}
	t.Errorf("predict printed no error for protein:\n%s", stderr.String())
}

func readCSVSep(t *testing.T, path string, sep rune) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = sep
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
