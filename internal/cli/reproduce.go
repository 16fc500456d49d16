package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/experiment"
	"github.com/fdrmfl/fdrmfl/experiment/report"
	"github.com/fdrmfl/fdrmfl/preprocess"
)

func runReproduce(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "attacks" { // the attack study has its own flags
		return runAttacks(ctx, e, args[1:])
	}
	fs := newFlags(e, "reproduce", "[flags] NAME... | all", `
Runs the paper's experiments (method.md §5) with repeated random splits and
writes a results folder: every measurement (rows.csv, and results.json which --render reads), the
data rows each client trained and was tested on in every repetition (splits.csv), the
settings each baseline chose on training data (choices.csv), the
summary (summary.csv), markdown tables of mean ± sd with the best in bold
(tables.md), plots (plots/*.png: R² per method with error bars, predicted
against observed, training loss per round) and timings.

Experiments: sim1 sim2 sim3 (simulation functions), tecator-p1 tecator-p2,
corn-p1 corn-p2 (P1: spectrum + the other responses; P2: spectra only), or
all. "fdrmfl reproduce attacks" runs the attack study instead (its own
flags: fdrmfl reproduce attacks -h). With --config, the study runs on any
dataset in the CSV layout that the file's data section describes (its model
and train sections set FDRMFL, its data.preprocess the spectral
preprocessing of every method, and a "study" section sets name, splits,
seeds, clients, test_fraction, and split_file with split_column for a fixed
train/validation/test split per row).

With --tune, runs instead the tuning study that chose FDRMFL's settings
(experiment.TuningGrid: from the author's settings to ours one change at a
time, then single changes around ours) on seeds 101 on, which the reported
results do not use; the iid split unless --splits says otherwise, every
variant unless --variants names some.`)
	out := fs.String("out", "results", "output `folder`")
	dataDir := fs.String("data", "../shared/data", "`folder` of the NIR datasets (tecator/, corn/)")
	seeds := fs.Int("seeds", 0, "repetitions per split (0: each experiment's own, 10 or 20)")
	workers := fs.Int("workers", 0, "repetitions run at once (0: all cores); results do not depend on it")
	config := fs.String("config", "", "a study of your own data (YAML with data, model, train and study sections)")
	methods := fs.String("methods", "", "comma-separated methods to run (default: all)")
	render := fs.Bool("render", false, "only rebuild tables and plots from the results.json already in --out")
	tune := fs.Bool("tune", false, "run the tuning study of FDRMFL's settings instead (seeds 101 on, iid split by default)")
	resume := fs.Bool("resume", false, "continue a stopped run in --out: keep the repetitions it finished, run the rest")
	force := fs.Bool("force", false, "write over an earlier run in --out (its repetitions are removed)")
	splits := fs.String("splits", "", "comma-separated splits, `iid,response` (default: each experiment's own)")
	clients := fs.Int("clients", 0, "clients of every experiment (0: each experiment's own, 3)")
	testFraction := fs.Float64("test-fraction", 0, "share of each client's samples held out (0: each experiment's own)")
	firstSeed := fs.Int("first-seed", 0, "the first repetition's seed (0: 1, or 101 with --tune)")
	preproc := fs.String("preprocess", "", "spectral preprocessing of every signal modality, for every method: a chain such as `sg1(11,2)+snv`, auto (chosen per repetition by federated CV of PLS on its training data) or none (default: each experiment's own)")
	variants := fs.String("variants", "", "with --tune: names of the tuning variants to run, separated by semicolons (default: all)")
	names, err := parseWithNames(fs, args)
	if err != nil {
		return err
	}
	if *render {
		b, err := os.ReadFile(filepath.Join(*out, "results.json"))
		if err != nil {
			return err
		}
		var res experiment.Results
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(*out, "results.json"), err)
		}
		return writeResults(*out, &res)
	}
	var specs []experiment.Spec
	if *config != "" && len(names) > 0 {
		return fmt.Errorf("give experiment names or --config, not both (the study reads its data from the config's folder)")
	}
	if *config != "" {
		spec, root, err := loadStudy(*config)
		if err != nil {
			return err
		}
		specs = append(specs, spec)
		*dataDir = root
	}
	if len(names) > 0 {
		more, err := experiment.Lookup(names)
		if err != nil {
			return err
		}
		specs = append(specs, more...)
	}
	if len(specs) == 0 {
		return usagef("name the experiments to run (or all), or give --config")
	}
	if *resume && *force {
		return usagef("--resume keeps an earlier run, --force removes it: give one")
	}
	for i := range specs {
		if *splits != "" {
			specs[i].Splits = nil
			for _, sp := range strings.Split(*splits, ",") {
				sp = strings.TrimSpace(sp)
				if sp != "iid" && sp != "response" {
					return usagef("--splits: %q is not iid or response", sp)
				}
				specs[i].Splits = append(specs[i].Splits, sp)
			}
		}
		if *clients < 0 || *testFraction < 0 || *testFraction >= 1 {
			return usagef("--clients must be positive and --test-fraction in (0, 1)")
		}
		if *clients > 0 {
			specs[i].Clients = *clients
		}
		if *testFraction > 0 {
			specs[i].TestFraction = *testFraction
		}
		if *preproc != "" && *preproc != "auto" && *preproc != "none" {
			if _, err := preprocess.Parse(*preproc); err != nil {
				return usagef("--preprocess: %v", err)
			}
		}
		if *preproc != "" && !strings.HasPrefix(specs[i].Name, "sim") {
			specs[i].Preprocess = map[string]string{"*": *preproc}
			if *preproc == "none" {
				specs[i].Preprocess = nil
			}
		}
	}
	opt := experiment.Options{FS: os.DirFS(*dataDir), Seeds: *seeds, Workers: *workers}
	if *methods != "" {
		for _, m := range strings.Split(*methods, ",") {
			opt.Methods = append(opt.Methods, strings.TrimSpace(m))
		}
	}
	if *variants != "" && !*tune {
		return usagef("--variants picks variants of the tuning study: give --tune")
	}
	if *tune {
		opt.Variants, opt.FirstSeed = experiment.TuningGrid(), experiment.TuneFirstSeed
		if *variants != "" {
			var keep []experiment.Variant
			for _, name := range strings.Split(*variants, ";") {
				name = strings.TrimSpace(name)
				i := slices.IndexFunc(opt.Variants, func(v experiment.Variant) bool { return v.Name == name })
				if i < 0 {
					var known []string
					for _, v := range opt.Variants {
						known = append(known, strconv.Quote(v.Name))
					}
					return usagef("--variants: no variant %q (known: %s)", name, strings.Join(known, ", "))
				}
				keep = append(keep, opt.Variants[i])
			}
			opt.Variants = keep
		}
		for i := range specs {
			if *splits == "" {
				specs[i].Splits = []string{"iid"}
			}
			if specs[i].TuneSeeds > 0 {
				specs[i].Seeds = specs[i].TuneSeeds
			}
		}
	}
	if *firstSeed > 0 {
		opt.FirstSeed = *firstSeed
	}
	if err := opt.Check(); err != nil {
		return usageError{err}
	}
	store, err := openStudy(*out, experiment.Fingerprint(specs, opt), *resume, *force)
	if err != nil {
		return err
	}
	opt.Done, opt.OnUnit = store.done, store.save
	w := *workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	var running []string
	for _, s := range specs {
		running = append(running, s.Name)
	}
	fmt.Fprintf(e.stdout, "fdrmfl reproduce: %s, %d at once, into %s", strings.Join(running, " "), w, *out)
	if n := len(store.units); n > 0 {
		fmt.Fprintf(e.stdout, " (resuming: %d repetitions already done)", n)
	}
	fmt.Fprintln(e.stdout)
	bar := newProgress(e.stdout)
	opt.Progress = bar.update
	res, err := experiment.Run(ctx, specs, opt)
	bar.finish()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(e.stdout, "stopped; %d repetitions are saved in %s. Run the same command with --resume to finish the others.\n", store.saved(), filepath.Join(*out, "units"))
			return nil
		}
		return err
	}
	if err := writeResults(*out, res); err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fmt.Fprintf(e.stdout, "done in %s; tables in %s\n", res.Elapsed.Round(time.Second), filepath.Join(*out, "tables.md"))
	return nil
}

// loadStudy reads a study configuration: fdrmfl's configuration plus a
// "study" section.
func loadStudy(path string) (experiment.Spec, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return experiment.Spec{}, "", err
	}
	var doc struct {
		Study experiment.Study `yaml:"study"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return experiment.Spec{}, "", fmt.Errorf("%s: %w", path, err)
	}
	// The rest is an ordinary configuration; remove the study section so
	// that the strict parser accepts it.
	var node yaml.Node
	if err := yaml.Unmarshal(b, &node); err != nil {
		return experiment.Spec{}, "", fmt.Errorf("%s: %w", path, err)
	}
	if len(node.Content) > 0 {
		m := node.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "study" {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
				break
			}
		}
	}
	rest, err := yaml.Marshal(&node)
	if err != nil {
		return experiment.Spec{}, "", err
	}
	var cfg fdrmfl.Config
	if err := parseConfig(path, rest, &cfg); err != nil {
		return experiment.Spec{}, "", err
	}
	root := dataRoot(path, cfg.Data)
	spec, err := experiment.Custom(cfg, doc.Study)
	if err != nil {
		return experiment.Spec{}, "", fmt.Errorf("%s: %w", path, err)
	}
	return spec, root, nil
}

// writeResults writes the results folder.
func writeResults(dir string, res *experiment.Results) error {
	rows := [][]string{{"experiment", "task", "split", "seed", "method", "regressor", "client", "n", "mse", "r2"}}
	for _, r := range res.Rows {
		rows = append(rows, []string{r.Experiment, r.Task, r.Split, strconv.Itoa(r.Seed), r.Method, r.Regressor, r.Client,
			strconv.Itoa(r.N), ff(r.MSE), ff(r.R2)})
	}
	if err := writeCSV(filepath.Join(dir, "rows.csv"), rows); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "results.json"), res); err != nil {
		return err
	}
	cells := report.Summarize(res.Rows)
	sum := [][]string{{"experiment", "task", "split", "method", "regressor", "runs", "r2_mean", "r2_sd", "mse_mean", "mse_sd", "client_r2_mean", "client_r2_sd"}}
	for _, c := range cells {
		sum = append(sum, []string{c.Experiment, c.Task, c.Split, c.Method, c.Regressor, strconv.Itoa(c.Runs),
			ff(c.R2Mean), ff(c.R2SD), ff(c.MSEMean), ff(c.MSESD), ff(c.ClientR2Mean), ff(c.ClientR2SD)})
	}
	if err := writeCSV(filepath.Join(dir, "summary.csv"), sum); err != nil {
		return err
	}
	asg := [][]string{{"experiment", "task", "split", "seed", "client", "set", "rows"}}
	byID := false
	for _, a := range res.Assignments {
		byID = byID || a.IDs != nil
	}
	if byID { // the samples' IDs beside their rows, separated by ";" (an ID may hold blanks)
		asg[0] = append(asg[0], "ids")
	}
	for _, a := range res.Assignments {
		ids := make([]string, len(a.Rows))
		for i, r := range a.Rows {
			ids[i] = strconv.Itoa(r + 1)
		}
		rec := []string{a.Experiment, a.Task, a.Split, strconv.Itoa(a.Seed), a.Client, a.Set, strings.Join(ids, " ")}
		if byID {
			rec = append(rec, strings.Join(a.IDs, ";"))
		}
		asg = append(asg, rec)
	}
	if err := writeCSV(filepath.Join(dir, "splits.csv"), asg); err != nil {
		return err
	}
	cho := [][]string{{"experiment", "task", "split", "seed", "method", "client", "setting", "value"}}
	for _, c := range res.Choices {
		cho = append(cho, []string{c.Experiment, c.Task, c.Split, strconv.Itoa(c.Seed), c.Method, c.Client, c.Setting, c.Value})
	}
	if err := writeCSV(filepath.Join(dir, "choices.csv"), cho); err != nil {
		return err
	}
	tim := [][]string{{"experiment", "task", "split", "seed", "method", "seconds"}}
	for _, t := range res.Timings {
		tim = append(tim, []string{t.Experiment, t.Task, t.Split, strconv.Itoa(t.Seed), t.Method, strconv.FormatFloat(t.Seconds, 'f', 3, 64)})
	}
	if err := writeCSV(filepath.Join(dir, "timings.csv"), tim); err != nil {
		return err
	}
	cur := [][]string{{"experiment", "task", "split", "seed", "method", "round", "loss"}}
	for _, c := range res.Curves {
		cur = append(cur, []string{c.Experiment, c.Task, c.Split, strconv.Itoa(c.Seed), c.Method, strconv.Itoa(c.Round), ff(c.Loss)})
	}
	if err := writeCSV(filepath.Join(dir, "curves.csv"), cur); err != nil {
		return err
	}
	var md bytes.Buffer
	fmt.Fprintf(&md, "# Results\n\nThe primary metric, for every split, is the deployment R²: each client's test samples are predicted by the model that client would deploy (the global model, or its own: personalised, local, or a regressor on its own features), built only from its own and federated training data, and scored together (R² about the mean of all test responses). The within-client R² (each client's test R² about its own mean, averaged over clients) and the deployment MSE follow. Mean ± sd over repetitions; best per column in bold.\nMade by `fdrmfl reproduce` in %s. The comparisons below use the deployment R², each method with its best downstream regressor.\n", res.Elapsed.Round(time.Second))
	present := map[string]bool{}
	for _, c := range cells {
		present[c.Method] = true
	}
	var ranks []report.Ranking
	if present[experiment.MFDRMFL] { // not in a tuning study, or a run without FDRMFL
		ranks = report.Rank(cells)
	}
	for _, r := range ranks {
		var parts []string
		for _, m := range experiment.Methods {
			if m != experiment.MFDRMFL && present[m] {
				parts = append(parts, fmt.Sprintf("%s on %d/%d", m, r.Beats[m], r.Tasks))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(&md, "\n- %s, %s split: FDRMFL beats %s", r.Experiment, r.Split, strings.Join(parts, "; "))
		}
	}
	fmt.Fprintf(&md, "\n\n## Main results\n\nThe best baseline is the best of federated PLS, ridge, lasso / elastic net, PLS on the chosen modalities and personalised PLS; bold marks the best of FDRMFL and those.\n")
	report.Main(&md, cells)
	fmt.Fprintf(&md, "\n## Deployment R²\n")
	report.Markdown(&md, cells, "r2")
	fmt.Fprintf(&md, "\n## R² within clients\n\nThe mean of the per-client test R², each about its own client's mean: what a model explains within a client. Under the response split each client holds a band of y, so the deployment R² also rewards knowing a client's band; this shows what is left within it.\n")
	report.Markdown(&md, cells, "client")
	fmt.Fprintf(&md, "\n## Deployment MSE\n")
	report.Markdown(&md, cells, "mse")
	if err := writeFile(filepath.Join(dir, "tables.md"), md.Bytes()); err != nil {
		return err
	}
	return writePlots(filepath.Join(dir, "plots"), res, cells)
}

func writeCSV(path string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		return err
	}
	return writeFile(path, buf.Bytes())
}

func writePlots(dir string, res *experiment.Results, cells []report.Cell) error {
	type key struct{ e, t, s string }
	var seen []key
	for _, c := range cells {
		k := key{c.Experiment, c.Task, c.Split}
		dup := false
		for _, s := range seen {
			dup = dup || s == k
		}
		if !dup {
			seen = append(seen, k)
		}
	}
	save := func(name string, f func(*bytes.Buffer) error) error {
		var buf bytes.Buffer
		if err := f(&buf); err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, name), buf.Bytes())
	}
	for _, k := range seen {
		base := fileName(k.e + "_" + k.t + "_" + k.s)
		if err := save("r2_"+base+".png", func(b *bytes.Buffer) error { return report.R2Bars(b, cells, k.e, k.t, k.s) }); err != nil {
			return err
		}
		if err := save("curves_"+base+".png", func(b *bytes.Buffer) error { return report.Curves(b, res.Curves, k.e, k.t, k.s) }); err != nil && !strings.Contains(err.Error(), "no training curves") {
			return err
		}
	}
	for _, u := range report.Units(res.Predictions) {
		pairs := predictionPairs(res.Predictions, u)
		name := "pred_" + fileName(fmt.Sprintf("%s_%s_%s_seed%d", u.Experiment, u.Task, u.Split, u.Seed)) + ".png"
		if err := save(name, func(b *bytes.Buffer) error { return report.PredictedVsObserved(b, res.Predictions, u, pairs) }); err != nil {
			return err
		}
	}
	return nil
}

// predictionPairs chooses the method-and-regressor pairs to plot for a
// unit: FDRMFL's head, federated ridge and PCA → forest where the run has
// them, else the first three it has.
func predictionPairs(preds []experiment.Prediction, u experiment.Unit) [][2]string {
	var have [][2]string
	for _, p := range preds {
		k := [2]string{p.Method, p.Regressor}
		if p.Unit == u && !slices.Contains(have, k) {
			have = append(have, k)
		}
	}
	var pairs [][2]string
	for _, k := range [][2]string{{experiment.MFDRMFL, experiment.RegHead}, {experiment.MRidge, experiment.RegOwn}, {experiment.MPCA, experiment.RegForest}} {
		if slices.Contains(have, k) {
			pairs = append(pairs, k)
		}
	}
	if len(pairs) == 0 {
		pairs = have[:min(3, len(have))]
	}
	return pairs
}

func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
}
