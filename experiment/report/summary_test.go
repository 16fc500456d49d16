package report_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/experiment"
	"github.com/fdrmfl/fdrmfl/experiment/report"
)

func row(split string, seed int, method, client string, r2 float64) experiment.Row {
	return experiment.Row{
		Unit:   experiment.Unit{Experiment: "e", Task: "t", Split: split, Seed: seed},
		Method: method, Regressor: experiment.RegRidge, Client: client, N: 10, R2: r2, MSE: 1 - r2,
	}
}

func TestSummarize(t *testing.T) {
	rows := []experiment.Row{
		row("iid", 1, "A", experiment.Pooled, 0.5), row("iid", 1, "A", "c1", 0.2), row("iid", 1, "A", "c2", 0.4),
		row("iid", 2, "A", experiment.Pooled, 0.7), row("iid", 2, "A", "c1", 0.6), row("iid", 2, "A", "c2", 0.6),
		row("iid", 1, "B", experiment.Pooled, 0.1),
	}
	cells := report.Summarize(rows)
	tests := []struct {
		method             string
		runs               int
		r2, r2sd, mse, cr2 float64
	}{
		{"A", 2, 0.6, math.Sqrt(0.02), 0.4, 0.45}, // within-client: seed means 0.3 and 0.6
		{"B", 1, 0.1, 0, 0.9, 0},
	}
	if len(cells) != len(tests) {
		t.Fatalf("%d cells, want %d", len(cells), len(tests))
	}
	for i, tc := range tests {
		c := cells[i]
		if c.Method != tc.method || c.Runs != tc.runs {
			t.Fatalf("cell %d: %s with %d runs, want %s with %d", i, c.Method, c.Runs, tc.method, tc.runs)
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{{"R² mean", c.R2Mean, tc.r2}, {"R² sd", c.R2SD, tc.r2sd}, {"MSE mean", c.MSEMean, tc.mse}, {"client R²", c.ClientR2Mean, tc.cr2}} {
			if math.Abs(f.got-f.want) > 1e-12 {
				t.Errorf("%s: %s = %v, want %v", c.Method, f.name, f.got, f.want)
			}
		}
	}
}

func TestRankUsesDeploymentR2UnderEverySplit(t *testing.T) {
	// Under the response split the classical method has the better
	// deployment R² but FDRMFL the better within-client R²; the ranking
	// counts the deployment R², the primary metric, for every split.
	rows := []experiment.Row{
		row("response", 1, experiment.MFDRMFL, experiment.Pooled, 0.5), row("response", 1, experiment.MFDRMFL, "c1", 0.3),
		row("response", 1, experiment.MPCA, experiment.Pooled, 0.8), row("response", 1, experiment.MPCA, "c1", 0.1),
		row("iid", 1, experiment.MFDRMFL, experiment.Pooled, 0.9),
		row("iid", 1, experiment.MPCA, experiment.Pooled, 0.8),
	}
	for i := range rows {
		if rows[i].Method == experiment.MFDRMFL {
			rows[i].Regressor = experiment.RegDeployed // how the ranking judges FDRMFL
		}
	}
	for _, r := range report.Rank(report.Summarize(rows)) {
		want := map[string]int{"iid": 1, "response": 0}[r.Split]
		if r.Tasks != 1 || r.Beats[experiment.MPCA] != want {
			t.Errorf("%s split: beats PCA on %d of %d tasks, want %d of 1", r.Split, r.Beats[experiment.MPCA], r.Tasks, want)
		}
	}
}

func TestMainTableNamesTheBestBaseline(t *testing.T) {
	rows := []experiment.Row{
		row("iid", 1, experiment.MFDRMFL, experiment.Pooled, 0.7),
		row("iid", 1, experiment.MPLS, experiment.Pooled, 0.8),
		row("iid", 1, experiment.MENet, experiment.Pooled, 0.9),
		row("iid", 1, experiment.MPCA, experiment.Pooled, 0.1),
	}
	var b strings.Builder
	if err := report.Main(&b, report.Summarize(rows)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"best baseline", "0.900 (" + experiment.MENet + ")", "**0.900 ± 0.000 (ridge)**", "0.100 ± 0.000 (PCA (per client) → ridge)"} {
		if !strings.Contains(out, want) {
			t.Errorf("main table lacks %q:\n%s", want, out)
		}
	}
}

// TestMainTableJudgesFDRMFLByWhatItDeploys: the FDRMFL column shows what
// each client deploys, chosen without test data, not the downstream
// regressor that did best on the test samples.
func TestMainTableJudgesFDRMFLByWhatItDeploys(t *testing.T) {
	with := func(reg string, r2 float64) experiment.Row {
		r := row("iid", 1, experiment.MFDRMFL, experiment.Pooled, r2)
		r.Regressor = reg
		return r
	}
	rows := []experiment.Row{
		with(experiment.RegForest, 0.95), with(experiment.RegDeployed, 0.6), with(experiment.RegHead, 0.5),
		row("iid", 1, experiment.MPLS, experiment.Pooled, 0.8),
	}
	var b strings.Builder
	if err := report.Main(&b, report.Summarize(rows)); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "0.600 ± 0.000 (deployed)") || strings.Contains(out, "0.950") {
		t.Errorf("the FDRMFL column is not the deployed model's:\n%s", out)
	}
}
