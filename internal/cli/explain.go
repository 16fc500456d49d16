package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/experiment/report"
)

func runExplain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "explain", "--model dir (--modality name=file.csv ... | --data file.yaml) [--responses file.csv] [--out dir]", `
Shows which inputs a trained model relies on: for every modality and every
input value (a spectrum's channel), the model's sensitivity — the mean over
the samples of |Δŷ|/Δx, in standard deviations, after the model's
preprocessing and standardisation — and, when the data have responses, the
VIP (variable importance in projection) and coefficients of a PLS
regression fitted here on the same inputs (components by 5-fold
cross-validation), the field's usual reading of a spectral calibration.
Writes importance.csv (one row per modality, input and response) and
importance.png (one panel per modality, both curves scaled to their
maximum, against the wavelengths of the CSV header when it has them). At
most 256 samples are used.`)
	modelDir := fs.String("model", "", "trained model `folder` (with manifest.json and model.safetensors)")
	in := addDataFlags(fs, "CSV `file` of observed responses (for the PLS comparison)")
	response := fs.String("response", "", "the `response` to plot (default: the model's first)")
	out := fs.String("out", "explain", "output `folder`")
	force := fs.Bool("force", false, "write over an earlier run in --out")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelDir == "" {
		return usagef("--model is required")
	}
	if err := checkOut(*out, *force); err != nil {
		return err
	}
	man, weights, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	r := 0
	if *response != "" {
		if r = slices.Index(man.Responses, *response); r < 0 {
			return usagef("--response %q: the model predicts %s", *response, strings.Join(man.Responses, ", "))
		}
	}
	ds, rep, err := in.read(man)
	if err != nil {
		return err
	}
	if ds.NumResponses() == 0 {
		fmt.Fprintln(e.stderr, "explain: no responses given (--responses): the model's sensitivity only, without the PLS comparison")
	}
	imps, err := (&fdrmfl.Model{Manifest: man, Weights: weights}).Explain(ds)
	if err != nil {
		return err
	}
	axis := map[string][]float64{}
	if rep != nil {
		for _, f := range rep.Files {
			name, ok := strings.CutPrefix(f.Source, "modality ")
			if !ok || f.Format != "CSV" {
				continue
			}
			if xs := headerAxis(f); xs != nil {
				axis[name] = xs
			}
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"modality", "input", "x", "response", "sensitivity", "pls_vip", "pls_coef", "pls_components", "samples"})
	for _, imp := range imps {
		q := len(imp.Responses)
		n := len(imp.Sensitivity) / q
		for j := range n {
			x := strconv.Itoa(j + 1)
			if xs := axis[imp.Modality]; len(xs) == n {
				x = ff(xs[j])
			}
			for k, resp := range imp.Responses {
				vip, coef := "", ""
				if imp.VIP != nil {
					vip, coef = ff(imp.VIP[j]), ff(imp.PLSCoef[j*q+k])
				}
				w.Write([]string{imp.Modality, strconv.Itoa(j + 1), x, resp, ff(imp.Sensitivity[j*q+k]), vip, coef, strconv.Itoa(imp.PLSComponents), strconv.Itoa(imp.Samples)})
			}
		}
	}
	w.Flush()
	if err := writeFile(filepath.Join(*out, "importance.csv"), buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := report.Importance(&buf, imps, r, axis); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*out, "importance.png"), buf.Bytes()); err != nil {
		return err
	}
	for _, imp := range imps {
		q := len(imp.Responses)
		top, at := 0.0, 0
		for j := range len(imp.Sensitivity) / q {
			if v := imp.Sensitivity[j*q+r]; v > top {
				top, at = v, j
			}
		}
		where := "input " + strconv.Itoa(at+1)
		if xs := axis[imp.Modality]; len(xs) > at {
			where = "x = " + ff(xs[at])
		}
		fmt.Fprintf(e.stdout, "%s: the model is most sensitive at %s (%.3g sd of %s per sd)", imp.Modality, where, top, imp.Responses[r])
		if imp.PLSComponents > 0 {
			fmt.Fprintf(e.stdout, "; PLS (%d components) VIP > 1 on %d of %d inputs", imp.PLSComponents, countAbove(imp.VIP, 1), len(imp.VIP))
		}
		fmt.Fprintln(e.stdout)
	}
	fmt.Fprintf(e.stdout, "wrote %s (importance.csv, importance.png)\n", *out)
	return nil
}

func countAbove(v []float64, t float64) int {
	n := 0
	for _, x := range v {
		if x > t {
			n++
		}
	}
	return n
}

// headerAxis returns the numbers a modality file's header names its
// columns with (wavelengths, as NIR files have them: 1100, w1100,
// "1100 nm"), without the ID column, or nil when the header does not name
// every column by one number, in order.
func headerAxis(f data.FileInfo) []float64 {
	fh, err := os.Open(f.File)
	if err != nil {
		return nil
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	if !sc.Scan() {
		return nil
	}
	line := strings.TrimPrefix(sc.Text(), "\ufeff")
	var fields []string
	switch f.Delimiter {
	case "tab":
		fields = strings.Split(line, "\t")
	case "whitespace":
		fields = strings.Fields(line)
	default:
		fields = strings.Split(line, f.Delimiter)
	}
	var xs []float64
	for _, s := range fields {
		s = strings.Trim(strings.TrimSpace(s), `"`)
		if f.IDColumn != "" && s == f.IDColumn {
			continue
		}
		if f.Decimal == "," {
			s = strings.Replace(s, ",", ".", 1)
		}
		num := headerNumber.FindAllString(s, -1)
		if len(num) != 1 {
			return nil
		}
		v, err := strconv.ParseFloat(num[0], 64)
		if err != nil {
			return nil
		}
		xs = append(xs, v)
	}
	// Wavelengths run one way.
	for j := 2; j < len(xs); j++ {
		if (xs[j]-xs[j-1])*(xs[1]-xs[0]) <= 0 {
			return nil
		}
	}
	return xs
}

// headerNumber finds the number in a column name such as 1100, w1100,
// X1100.5 or "1100 nm".
var headerNumber = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)
