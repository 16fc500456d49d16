// Package shareddata finds, for tests, the project's shared NIR data: the
// folder ../shared/data beside the module root. Without it a test is
// skipped, except under CI (CI=true), where a test that cannot run is a
// failure: a green CI must mean the tests ran.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared data folder, or skips t (fails it when CI=true)
// when the folder or the module root cannot be found.
func Dir(t testing.TB) string {
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
			missing(t, "no go.mod above "+dir)
		}
		dir = parent
	}
	root := filepath.Join(dir, "..", "shared", "data")
	for _, set := range []string{"corn", "tecator"} {
		if _, err := os.Stat(filepath.Join(root, set)); err != nil {
			missing(t, err.Error())
		}
	}
	return root
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but the shared data (the module's ../shared/data) is missing: %s", why)
	}
	t.Skipf("shared data (the module's ../shared/data) not found: %s", why)
}
