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
// and split: the mean and sample sd over repetitions of the pooled test
// error (all clients' test samples together).
type Cell struct {
	Experiment, Task, Split, Method, Regressor string
	Runs                                       int
	R2Mean, R2SD, MSEMean, MSESD               float64
}

// Summarize averages the pooled rows over seeds.
func Summarize(rows []experiment.Row) []Cell {
	type key struct{ e, t, s, m, r string }
	r2 := map[key][]float64{}
	mse := map[key][]float64{}
	var order []key
	for _, r := range rows {
		if r.Client != "pooled" {
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
// regressor, a column per task, each cell the mean ± sd of the pooled test
// R² (or MSE) over the repetitions, the best of each column in bold
// (highest R², lowest MSE).
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
				if metric == "mse" {
					v = -c.MSEMean
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
		name := "R²"
		if metric == "mse" {
			name = "MSE"
		}
		fmt.Fprintf(w, "\n#### %s, %s split: test %s (pooled over clients), mean ± sd over %d repetitions\n\n", k.e, k.s, name, runs)
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
				if metric == "mse" {
					s = fmt.Sprintf("%.4g ± %.2g", c.MSEMean, c.MSESD)
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

// Rank compares FDRMFL with every other method task by task.
func Rank(cells []Cell) []Ranking {
	type key struct{ e, s string }
	bestOf := map[key]map[string]map[string]float64{} // table → task → method → best R²
	var order []key
	for _, c := range cells {
		k := key{c.Experiment, c.Split}
		if bestOf[k] == nil {
			bestOf[k] = map[string]map[string]float64{}
			order = append(order, k)
		}
		if bestOf[k][c.Task] == nil {
			bestOf[k][c.Task] = map[string]float64{}
		}
		if v, ok := bestOf[k][c.Task][c.Method]; !ok || c.R2Mean > v {
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
