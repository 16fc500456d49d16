package fdrmfl_test

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDependencyRules keeps the layering of the code: the learning core and
// the federation core do no I/O of their own (files, sockets and processes
// belong to the command line and the transports), and the learning stack
// and the federation protocol never import each other.
func TestDependencyRules(t *testing.T) {
	const mod = "github.com/fdrmfl/fdrmfl"
	noIO := []string{"os", "net", "os/exec", "syscall", "net/http"}
	learning := []string{"tensor", "ag", "ag/agtest", "nn", "optim", "loss", "model", "train", "data", "data/partition", "data/jcamp", "modelio"}
	federation := []string{"fed", "fed/strategy", "fed/sim"}
	rules := map[string][]string{} // package → banned imports
	for _, p := range append(append([]string{"site"}, learning...), federation...) {
		rules[p] = append(rules[p], noIO...)
	}
	// The root package reads and writes model folders, nothing else.
	rules["."] = append(rules["."], "net", "os/exec", "syscall", "net/http")
	for _, p := range learning {
		for _, f := range federation {
			rules[p] = append(rules[p], mod+"/"+f)
		}
	}
	// The gRPC transport may do I/O, but it carries weights, not models:
	// it stays blind to the learning stack, and the learning stack to it.
	transport := []string{"fed/fedgrpc", "fed/fedgrpc/fedpb"}
	for _, p := range append(federation, transport...) {
		for _, l := range learning {
			rules[p] = append(rules[p], mod+"/"+l)
		}
	}
	for _, p := range append(learning, ".", "site") {
		for _, t := range transport {
			rules[p] = append(rules[p], mod+"/"+t)
		}
	}
	for dir, banned := range rules {
		pkg, err := build.ImportDir(filepath.FromSlash(dir), 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			if slices.Contains(banned, imp) {
				t.Errorf("package %s imports %s, which its layer must not (%s)", dir, imp, why(imp))
			}
		}
	}
}

func why(imp string) string {
	if strings.HasPrefix(imp, "github.com/") {
		return "the learning stack and the federation protocol meet only in the root package"
	}
	return "files, sockets and processes are the business of the command line and the transports"
}
