// Package report turns experiment results into summaries: mean ± sd over
// repetitions, markdown tables with the best method in bold, and plots
// (PNG, via gonum/plot). It writes to io.Writer values; choosing files is
// the caller's business.
package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/experiment"
)

// Cell is the summary of one method and regressor on one experiment task
// and split: the mean and sample sd over repetitions of the deployment
// error, the primary metric for every split.
//
// Deployment error: each client's test samples are predicted by the model
// that client would deploy — the global model, or the client's own
// (personalised, local, or a regressor fitted on its own features), built
// only from its own and federated training data — and the errors are
// pooled over every client's test samples (the rows whose Client is
// experiment.Pooled). R² is 1 − SSE/SST about the mean of all those test
// responses.
type Cell struct {
	Experiment, Task, Split, Method, Regressor string
	Runs                                       int
	// R2Mean, R2SD, MSEMean and MSESD summarise the deployment R² and MSE.
	R2Mean, R2SD, MSEMean, MSESD float64
	// ClientR2Mean and ClientR2SD summarise, over repetitions, the mean of
	// the per-client test R² (each about its own client's mean), the
	// secondary metric: it asks what a model explains within a client,
	// which under the response split (every client a band of y) is far
	// less than what knowing the client's band explains.
	ClientR2Mean, ClientR2SD float64
}

// Summarize averages the deployment (pooled) rows over seeds, and the
// per-client rows into the within-client R².
func Summarize(rows []experiment.Row) []Cell {
	type key struct{ e, t, s, m, r string }
	r2 := map[key][]float64{}
	mse := map[key][]float64{}
	within := map[key]map[int][]float64{} // per-client R² by seed
	for _, r := range rows {
		if r.Client != experiment.Pooled {
			k := key{r.Experiment, r.Task, r.Split, r.Method, r.Regressor}
			if within[k] == nil {
				within[k] = map[int][]float64{}
			}
			within[k][r.Seed] = append(within[k][r.Seed], r.R2)
		}
	}
	var order []key
	for _, r := range rows {
		if r.Client != experiment.Pooled {
			continue
		}
		k := key{r.Experiment, r.Task, r.Split, r.Method, r.Regressor}
		if _, ok := r2[k]; !ok {
			order = append(order, k)
		}
		r2[k] = append(r2[k], r.R2)
		mse[k] = append(mse[k], r.MSE)
	}
	out := make([]Cell, 0, len(order))
	for _, k := range order {
		c := Cell{Experiment: k.e, Task: k.t, Split: k.s, Method: k.m, Regressor: k.r, Runs: len(r2[k])}
		c.R2Mean, c.R2SD = meanSD(r2[k])
		c.MSEMean, c.MSESD = meanSD(mse[k])
		var perSeed []float64
		for _, v := range within[k] {
			m, _ := meanSD(v)
			perSeed = append(perSeed, m)
		}
		slices.Sort(perSeed) // map order must not change the sums' rounding
		if len(perSeed) > 0 {
			c.ClientR2Mean, c.ClientR2SD = meanSD(perSeed)
		}
		out = append(out, c)
	}
	return out
}

func meanSD(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, 0
	}
	for _, v := range x {
		sd += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)-1))
}

// Label names a method with its downstream regressor, as in the tables.
func Label(method, regressor string) string {
	if regressor == experiment.RegOwn {
		return method
	}
	return method + " → " + regressor
}

// Markdown writes one table per experiment and split: a row per method and
// regressor, a column per task, each cell the mean ± sd over the
// repetitions of the deployment R² (metric "r2"), the deployment MSE
// ("mse") or the within-client R² ("client"), the best of each column in
// bold (highest R², lowest MSE).
func Markdown(w io.Writer, cells []Cell, metric string) error {
	type tkey struct{ e, s string }
	var tables []tkey
	byTable := map[tkey][]Cell{}
	for _, c := range cells {
		k := tkey{c.Experiment, c.Split}
		if _, ok := byTable[k]; !ok {
			tables = append(tables, k)
		}
		byTable[k] = append(byTable[k], c)
	}
	for _, k := range tables {
		cs := byTable[k]
		var tasks, rows []string
		val := map[[2]string]Cell{}
		for _, c := range cs {
			if !slices.Contains(tasks, c.Task) {
				tasks = append(tasks, c.Task)
			}
			l := Label(c.Method, c.Regressor)
			if !slices.Contains(rows, l) {
				rows = append(rows, l)
			}
			val[[2]string{l, c.Task}] = c
		}
		best := map[string]string{}
		for _, t := range tasks {
			var bl string
			var bv float64
			for _, l := range rows {
				c, ok := val[[2]string{l, t}]
				if !ok {
					continue
				}
				v := c.R2Mean
				switch metric {
				case "mse":
					v = -c.MSEMean
				case "client":
					v = c.ClientR2Mean
				}
				if bl == "" || v > bv {
					bl, bv = l, v
				}
			}
			best[t] = bl
		}
		runs := 0
		for _, c := range cs {
			runs = max(runs, c.Runs)
		}
		heading := fmt.Sprintf("deployment R² (each client's deployed model on its test samples, pooled over clients), mean ± sd over %d repetitions", runs)
		switch metric {
		case "mse":
			heading = fmt.Sprintf("deployment MSE, mean ± sd over %d repetitions", runs)
		case "client":
			heading = fmt.Sprintf("test R² within each client (mean over clients), mean ± sd over %d repetitions", runs)
		}
		fmt.Fprintf(w, "\n#### %s, %s split: %s\n\n", k.e, k.s, heading)
		fmt.Fprintf(w, "| method → downstream regressor | %s |\n|---|%s\n", strings.Join(tasks, " | "), strings.Repeat("---|", len(tasks)))
		for _, l := range rows {
			fmt.Fprintf(w, "| %s |", l)
			for _, t := range tasks {
				c, ok := val[[2]string{l, t}]
				if !ok {
					fmt.Fprint(w, " – |")
					continue
				}
				s := fmt.Sprintf("%.3f ± %.3f", c.R2Mean, c.R2SD)
				switch metric {
				case "mse":
					s = fmt.Sprintf("%.4g ± %.2g", c.MSEMean, c.MSESD)
				case "client":
					s = fmt.Sprintf("%.3f ± %.3f", c.ClientR2Mean, c.ClientR2SD)
				}
				if best[t] == l {
					s = "**" + s + "**"
				}
				fmt.Fprintf(w, " %s |", s)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

// Ranking counts, per experiment and split, for how many tasks each
// method-and-regressor has the best mean R², and in how many FDRMFL (best
// regressor) beats each classical method (its best regressor).
type Ranking struct {
	Experiment, Split string
	Tasks             int
	// Beats[m] is the number of tasks where FDRMFL's best R² exceeds m's best.
	Beats map[string]int
}

// Rank compares FDRMFL with every other method task by task, on the
// deployment R² (every split), each judged as Main judges it.
func Rank(cells []Cell) []Ranking {
	type key struct{ e, s string }
	bestOf := map[key]map[string]map[string]float64{} // table → task → method → its R²
	judged := map[key]map[string]map[string]Cell{}
	var order []key
	for _, c := range cells {
		k := key{c.Experiment, c.Split}
		if bestOf[k] == nil {
			bestOf[k], judged[k] = map[string]map[string]float64{}, map[string]map[string]Cell{}
			order = append(order, k)
		}
		if bestOf[k][c.Task] == nil {
			bestOf[k][c.Task], judged[k][c.Task] = map[string]float64{}, map[string]Cell{}
		}
		if b, ok := judged[k][c.Task][c.Method]; judgedBy(c, b, ok) {
			judged[k][c.Task][c.Method] = c
			bestOf[k][c.Task][c.Method] = c.R2Mean
		}
	}
	var out []Ranking
	for _, k := range order {
		r := Ranking{Experiment: k.e, Split: k.s, Beats: map[string]int{}}
		for _, byMethod := range bestOf[k] {
			r.Tasks++
			ours, ok := byMethod[experiment.MFDRMFL]
			if !ok {
				continue
			}
			for m, v := range byMethod {
				if m != experiment.MFDRMFL && ours > v {
					r.Beats[m]++
				}
			}
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Ranking) int { return cmp.Compare(a.Experiment+a.Split, b.Experiment+b.Split) })
	return out
}

// judgedBy reports whether cell c, rather than b (ok: there is one),
// stands for its method: for FDRMFL and the author's settings, what each
// client deploys (chosen by federated validation, without test data),
// else, in a run without it, the global head; for every other method its
// best downstream regressor.
func judgedBy(c, b Cell, ok bool) bool {
	if c.Method == experiment.MFDRMFL || c.Method == experiment.MPaper {
		return c.Regressor == experiment.RegDeployed || (c.Regressor == experiment.RegHead && (!ok || b.Regressor != experiment.RegDeployed))
	}
	return !ok || c.R2Mean > b.R2Mean
}

// Unsupervised lists the classical feature extractors, which the main
// table shows as one column (the best of them).
var Unsupervised = []string{experiment.MPCA, experiment.MPCA90, experiment.MTSVD, experiment.MRP, experiment.MVAE, experiment.MFedPCA}

// Main writes the study's main table for each split: a row per experiment
// and task, the deployment R² (mean ± sd) of FDRMFL, FDRMFL with the
// author's settings, the best of the unsupervised extractors, each
// baseline of experiment.Baselines, and the best baseline with its name.
// The two FDRMFL columns score what each client deploys
// (experiment.RegDeployed: the global head, or its personal head where
// federated validation chose one), a choice made without test data; the
// baselines predict by themselves, and the unsupervised extractors, shown
// for reference, with their best downstream regressor. Bold marks the best
// of FDRMFL and the baselines. Columns of methods the run lacks are left
// out.
func Main(w io.Writer, cells []Cell) error {
	type key struct{ e, t, s string }
	best := map[key]map[string]Cell{} // method → the cell it is judged by
	var order []key
	for _, c := range cells {
		k := key{c.Experiment, c.Task, c.Split}
		if best[k] == nil {
			best[k] = map[string]Cell{}
			order = append(order, k)
		}
		if b, ok := best[k][c.Method]; judgedBy(c, b, ok) {
			best[k][c.Method] = c
		}
	}
	present := map[string]bool{}
	for _, c := range cells {
		present[c.Method] = true
	}
	cols := []string{}
	for _, m := range []string{experiment.MFDRMFL, experiment.MPaper} {
		if present[m] {
			cols = append(cols, m)
		}
	}
	anyUnsup := slices.ContainsFunc(Unsupervised, func(m string) bool { return present[m] })
	var bases []string
	for _, m := range experiment.Baselines {
		if present[m] {
			bases = append(bases, m)
		}
	}
	for _, split := range []string{"iid", "response"} {
		var keys []key
		for _, k := range order {
			if k.s == split {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			continue
		}
		head := append([]string{"experiment", "response"}, cols...)
		if anyUnsup {
			head = append(head, "best of PCA, PCA 90 %, TSVD, RP, VAE, fed. PCA")
		}
		head = append(head, bases...)
		if len(bases) > 0 {
			head = append(head, "best baseline")
		}
		fmt.Fprintf(w, "\n#### %s split: deployment R², mean ± sd (FDRMFL: what each client deploys, chosen by federated validation; the baselines' own predictions; the unsupervised extractors with their best downstream regressor)\n\n", split)
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
		for _, k := range keys {
			b := best[k]
			// The best of FDRMFL and the baselines, for the bold.
			var top string
			for _, m := range append([]string{experiment.MFDRMFL}, bases...) {
				if c, ok := b[m]; ok && (top == "" || c.R2Mean > b[top].R2Mean) {
					top = m
				}
			}
			cell := func(m string, c Cell) string {
				s := fmt.Sprintf("%.3f ± %.3f", c.R2Mean, c.R2SD)
				if c.Regressor != experiment.RegOwn {
					s += " (" + c.Regressor + ")"
				}
				if m == top {
					s = "**" + s + "**"
				}
				return s
			}
			row := []string{k.e, k.t}
			for _, m := range cols {
				if c, ok := b[m]; ok {
					row = append(row, cell(m, c))
				} else {
					row = append(row, "–")
				}
			}
			if anyUnsup {
				var bu string
				for _, m := range Unsupervised {
					if c, ok := b[m]; ok && (bu == "" || c.R2Mean > b[bu].R2Mean) {
						bu = m
					}
				}
				if bu == "" {
					row = append(row, "–")
				} else {
					row = append(row, fmt.Sprintf("%.3f ± %.3f (%s)", b[bu].R2Mean, b[bu].R2SD, Label(bu, b[bu].Regressor)))
				}
			}
			var bb string
			for _, m := range bases {
				c, ok := b[m]
				if ok {
					row = append(row, cell(m, c))
					if bb == "" || c.R2Mean > b[bb].R2Mean {
						bb = m
					}
				} else {
					row = append(row, "–")
				}
			}
			if len(bases) > 0 {
				if bb == "" {
					row = append(row, "–")
				} else {
					row = append(row, fmt.Sprintf("%.3f (%s)", b[bb].R2Mean, bb))
				}
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
	}
	return nil
}
