"""Merge BenchmarkSgemm output and torch_bench.py output into the
Markdown table of docs/decisions/0001-gemm-kernel.md, keeping the best
value per cell over all rounds in the files. The machine is shared and
interference only ever slows a run, in bursts of many seconds, so the
rounds alternate Go and PyTorch rather than repeating one benchmark
back to back (go test -count does the latter):

    go test -c -o /tmp/gemm.test ./internal/gemm
    for i in 1 2 3 4 5; do
      (cd internal/gemm && /tmp/gemm.test -test.run - -test.bench Sgemm \
          -test.benchtime 300ms -test.count 1 -test.cpu 1) >> go.txt
      OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
          /usr/bin/python3 internal/gemm/testdata/torch_bench.py >> torch.txt
    done
    /usr/bin/python3 internal/gemm/testdata/benchtable.py go.txt torch.txt
"""

import re
import sys
from collections import OrderedDict

PATHS = ["avx512", "avx2", "go", "gonum"]


def main(go_file, torch_file):
    best = OrderedDict()
    for line in open(go_file):
        m = re.match(r"BenchmarkSgemm/(\S+)/(\w+)\s.*\s([\d.]+) GFLOP/s", line)
        if m:
            shape, path, v = m.group(1), m.group(2), float(m.group(3))
            cell = best.setdefault(shape, {})
            cell[path] = max(cell.get(path, 0.0), v)
    torch = {}
    for line in open(torch_file):
        m = re.match(r"(\S+)\s+([\d.]+) GFLOP/s", line)
        if m:
            torch[m.group(1)] = max(torch.get(m.group(1), 0.0), float(m.group(2)))
    print("| shape (use_op_m×k×n) | ours AVX-512 | ours AVX2 | ours Go | gonum | PyTorch | AVX-512 / PyTorch |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for shape, cell in best.items():
        t = torch.get(shape)
        cols = [f"{cell[p]:.1f}" if p in cell else "–" for p in PATHS]
        ratio = f"{cell['avx512'] / t:.2f}" if t and "avx512" in cell else "–"
        print(f"| {shape} | " + " | ".join(cols) + f" | {t:.1f} | {ratio} |" if t else f"| {shape} | " + " | ".join(cols) + " | – | – |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
