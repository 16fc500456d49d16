package python_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// python is Debian's interpreter, which has python3-numpy, python3-torch
// and python3-onnx.
const python = "/usr/bin/python3"

// TestPythonPackage runs the Python package's tests (tests/run.py) so that
// go test ./... covers them: they train small models with the fdrmfl
// binary built here and check the Python, PyTorch and ONNX versions of
// each against fdrmfl predict and extract. Without python3 and numpy the
// test is skipped, except with CI=true, where it fails; run.py likewise
// fails under CI=true when torch or onnx cannot be imported.
func TestPythonPackage(t *testing.T) {
	ci := os.Getenv("CI") == "true"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		if ci {
			t.Fatalf("CI=true but %s with numpy is not available (%v): install python3-numpy, python3-torch and python3-onnx", python, err)
		}
		t.Skipf("%s with numpy is not available (%v)", python, err)
	}
	bin := filepath.Join(t.TempDir(), "fdrmfl")
	build := exec.Command("go", "build", "-o", bin, "./cmd/fdrmfl")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(python, filepath.Join("tests", "run.py"))
	cmd.Env = append(os.Environ(), "FDRMFL_BIN="+bin, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "worst relative error") || strings.HasPrefix(line, "python:") || strings.HasPrefix(line, "ran in") || strings.HasPrefix(line, "SKIPPED") {
			t.Log(line)
		}
	}
}
