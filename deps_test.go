package fdrmfl_test

import (
	"errors"
	"go/build"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/fdrmfl/fdrmfl"

// layers ranks every package of the module, from the bottom up. A
// package may import, directly or through others, only packages of a
// strictly lower layer: the learning stack is ordered (optim cannot
// import loss), the federation core knows no transport, the library
// knows no command. The README's package table describes these layers;
// a new package gets a place here or the test fails.
var layers = []struct {
	name     string
	packages []string
}{
	{"foundations: kernels, seeds, files, certificates, wire types", []string{"internal/vec", "internal/gemm", "internal/seed", "internal/pki", "internal/workpool", "internal/disk", "internal/shareddata", "fed/fedgrpc/fedpb", "data/jcamp", "fed/secagg", "privacy", "preprocess"}},
	{"arrays, data and the federation protocol", []string{"tensor", "internal/linalg", "data", "fed"}},
	{"autodiff, partitions, strategies, fleets, classical baselines", []string{"ag", "data/partition", "fed/strategy", "fed/sim", "fed/fedgrpc", "baseline", "baseline/forest"}},
	{"layers", []string{"nn", "ag/agtest"}},
	{"optimisers, objective terms, weight files", []string{"optim", "loss", "modelio"}},
	{"the network", []string{"model", "baseline/vae"}},
	{"local training, warm starts", []string{"train", "warm"}},
	{"a client of a federation", []string{"site", "internal/bench"}},
	{"the library", []string{".", "export/onnx"}},
	{"deployment, the study, attacks", []string{"deploy", "experiment", "attack"}},
	{"the study's report", []string{"experiment/report"}},
	{"the command", []string{"internal/cli"}},
	{"programs", []string{"cmd/fdrmfl", "examples/embed-client", "examples/own-data/generate"}},
}

// learningStack and federationCore never depend on each other: they meet
// in site and the root package.
var (
	learningStack  = []string{"tensor", "ag", "ag/agtest", "nn", "optim", "loss", "model", "train", "data", "data/jcamp", "data/partition", "modelio"}
	federationCore = []string{"fed", "fed/secagg", "fed/strategy", "fed/sim", "fed/fedgrpc", "fed/fedgrpc/fedpb"}
	// noIO packages compute and leave files, sockets and processes to
	// the command line and the transports (checked on direct imports: the
	// standard library itself imports os).
	noIO = append(append([]string{"site"}, learningStack...), "fed", "fed/secagg", "privacy", "preprocess", "fed/strategy", "fed/sim", "baseline", "baseline/forest", "baseline/vae", "warm", "internal/linalg", "internal/gemm", "internal/vec", "internal/workpool")
)

// TestDependencyRules checks every package of the module against its
// layer, on its whole dependency graph (direct and indirect imports).
func TestDependencyRules(t *testing.T) {
	rank := map[string]int{}
	for r, l := range layers {
		for _, p := range l.packages {
			rank[p] = r
		}
	}
	imports := modulePackages(t)
	for _, p := range slices.Sorted(maps.Keys(imports)) {
		if _, ok := rank[p]; !ok {
			t.Errorf("package %s has no layer: give it one in deps_test.go (and the README's package table)", p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(imports)) {
		r, ok := rank[p]
		if !ok {
			continue
		}
		for _, d := range closure(p, imports) {
			if rd, ok := rank[d]; ok && rd >= r {
				t.Errorf("package %s (layer %d, %s) depends on %s (layer %d, %s)%s: only lower layers may be imported",
					p, r, layers[r].name, d, rd, layers[rd].name, path(p, d, imports))
			}
		}
	}
	for _, p := range learningStack {
		for _, d := range closure(p, imports) {
			if slices.Contains(federationCore, d) {
				t.Errorf("learning package %s depends on federation package %s%s: they meet only in site and the root package", p, d, path(p, d, imports))
			}
		}
	}
	for _, p := range federationCore {
		for _, d := range closure(p, imports) {
			if slices.Contains(learningStack, d) {
				t.Errorf("federation package %s depends on learning package %s%s: the protocol carries weights, not models", p, d, path(p, d, imports))
			}
		}
	}
	banned := []string{"os", "os/exec", "os/signal", "net", "net/http", "syscall", "io/ioutil"}
	for _, p := range noIO {
		pkg, err := build.ImportDir(filepath.FromSlash(p), 0)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, imp := range pkg.Imports {
			if slices.Contains(banned, imp) {
				t.Errorf("package %s imports %s: files, sockets and processes are the business of the command line and the transports", p, imp)
			}
		}
	}
}

// TestDependencyRulesCatchUpwardImports feeds the checks a graph with one
// upward edge, to show they see it.
func TestDependencyRulesCatchUpwardImports(t *testing.T) {
	imports := map[string][]string{"optim": {"internal/vec", "loss"}, "loss": {"ag"}, "ag": {"tensor"}, "tensor": nil, "internal/vec": nil}
	if got := closure("optim", imports); !slices.Contains(got, "tensor") || !slices.Contains(got, "loss") {
		t.Fatalf("closure of optim %v misses an indirect import", got)
	}
	if got := path("optim", "tensor", imports); got != " (optim → loss → ag → tensor)" {
		t.Fatalf("path %q", got)
	}
}

// modulePackages maps every package of the module (by its path in the
// module, "." for the root) to the module packages it imports, leaving out
// test files, testdata and folders without Go code.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if base := d.Name(); dir != "." && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || base == "testdata" || base == "out") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(dir, 0)
		var none *build.NoGoError
		if errors.As(err, &none) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(pkg.GoFiles) == 0 { // tests only
			return nil
		}
		name := filepath.ToSlash(dir)
		out[name] = []string{}
		for _, imp := range pkg.Imports {
			switch {
			case imp == module:
				out[name] = append(out[name], ".")
			case strings.HasPrefix(imp, module+"/"):
				out[name] = append(out[name], strings.TrimPrefix(imp, module+"/"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// closure returns every module package p depends on, directly or not.
func closure(p string, imports map[string][]string) []string {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(q string) {
		for _, d := range imports[q] {
			if !seen[d] {
				seen[d] = true
				visit(d)
			}
		}
	}
	visit(p)
	return slices.Sorted(maps.Keys(seen))
}

// path returns a chain of imports from p to d, for the error message.
func path(p, d string, imports map[string][]string) string {
	prev := map[string]string{p: ""}
	queue := []string{p}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		if q == d {
			chain := []string{d}
			for c := prev[d]; c != ""; c = prev[c] {
				chain = append(chain, c)
			}
			slices.Reverse(chain)
			return " (" + strings.Join(chain, " → ") + ")"
		}
		for _, n := range imports[q] {
			if _, ok := prev[n]; !ok {
				prev[n] = q
				queue = append(queue, n)
			}
		}
	}
	return ""
}
