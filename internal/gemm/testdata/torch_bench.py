"""Single-threaded PyTorch CPU GEMM throughput on the engine's shapes.

Compares against BenchmarkSgemm in bench_test.go (same shapes, same
m×k×n naming; keep the two lists in sync). Not run by go test. Run:

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 internal/gemm/testdata/torch_bench.py

Debian's torch 1.13 sends float32 torch.mm to OpenBLAS, whose own thread
pool ignores torch.set_num_threads(1): without OPENBLAS_NUM_THREADS=1 it
uses every core, which is not a single-thread number. The script prints
the BLAS core OpenBLAS picked when run with OPENBLAS_VERBOSE=2.
"""

import os
import time

import torch

torch.set_num_threads(1)

# (use, m, k, n, transA, transB, beta): op(A) is m×k, op(B) is k×n.
SHAPES = [
    ("dense", 64, 700, 64, False, True, 0),
    ("dense", 32, 3072, 128, False, True, 0),
    ("dense", 32, 500, 128, False, True, 0),
    ("dense", 32, 32, 128, False, True, 0),
    ("dense", 32, 128, 128, False, True, 0),
    ("dense", 32, 384, 256, False, True, 0),
    ("dense", 32, 256, 128, False, True, 0),
    ("dense", 32, 128, 64, False, True, 0),
    ("dense", 64, 64, 8, False, True, 0),
    ("dW", 128, 32, 3072, True, False, 1),
    ("dW", 64, 64, 700, True, False, 1),
    ("dx", 32, 128, 3072, False, False, 0),
    ("dx", 64, 64, 700, False, False, 0),
    ("conv", 32, 27, 1024, False, False, 0),
    ("conv", 32, 27, 32768, False, False, 0),
    ("conv", 64, 288, 256, False, False, 0),
    ("conv", 64, 288, 8192, False, False, 0),
    ("conv", 16, 7, 347, False, False, 0),
    ("conv", 32, 80, 172, False, False, 0),
    ("convdW", 32, 1024, 27, False, True, 0),
    ("convdW", 64, 256, 288, False, True, 0),
    ("convdW", 32, 172, 80, False, True, 0),
    ("convdX", 27, 32, 1024, True, False, 0),
    ("convdX", 288, 64, 256, True, False, 0),
    ("convdX", 80, 32, 172, True, False, 0),
    ("lstm", 32, 64, 256, False, True, 0),
    ("lstm", 320, 50, 256, False, True, 0),
    ("lstm", 320, 128, 256, False, True, 0),
    ("lstmdh", 32, 256, 64, False, False, 0),
    ("lstmdW", 256, 32, 64, True, False, 1),
    ("lstmdW", 256, 320, 128, True, False, 1),
    ("mm", 64, 700, 64, False, False, 0),
    ("mm", 256, 700, 64, False, False, 0),
    ("mm", 1024, 1024, 1024, False, False, 0),
]


def bench(m, k, n, ta, tb, beta, reps=5, target=0.2):
    # Stored operands: A is k×m when transposed, B is n×k when transposed;
    # .t() gives torch a strided view, which it hands to BLAS as a transpose.
    a = torch.randn(k, m).t() if ta else torch.randn(m, k)
    b = torch.randn(n, k).t() if tb else torch.randn(k, n)
    c = torch.zeros(m, n)
    if beta == 0:
        run = lambda: torch.mm(a, b, out=c)
    else:
        run = lambda: c.addmm_(a, b)  # C = C + A·B
    flops = 2.0 * m * n * k
    run()
    t0 = time.perf_counter()
    run()
    one = max(time.perf_counter() - t0, 1e-7)
    iters = max(10, int(target / one))
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            run()
        dt = (time.perf_counter() - t0) / iters
        best = max(best, flops / dt / 1e9)
    return best


def main():
    print(f"torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    for use, m, k, n, ta, tb, beta in SHAPES:
        name = f"{use}_{'T' if ta else 'N'}{'T' if tb else 'N'}_{m}x{k}x{n}"
        print(f"{name:32s} {bench(m, k, n, ta, tb, beta):8.1f} GFLOP/s")


if __name__ == "__main__":
    main()
