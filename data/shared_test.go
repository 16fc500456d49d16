package data

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the project's shared data folder, ../shared/data
// beside the module root, or skips the test when it is absent.
func sharedData(t testing.TB) fs.FS {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared data: no go.mod above the test directory")
		}
		dir = parent
	}
	root := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(root, "corn")); err != nil {
		t.Skipf("shared data not found at %s (the module's ../shared/data): %v", root, err)
	}
	return os.DirFS(root)
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
