"""Run the Python package's tests and say what ran.

    /usr/bin/python3 python/tests/run.py [-v]

Prints every test with its outcome, every skip with its reason, the
measured agreement with the fdrmfl command per case, and a closing line
"python: N passed, N failed, N skipped". Tests that need torch or onnx are skipped
when those do not import, except when the environment variable CI is
"true": there a skip is a failure, so that CI cannot pass without running
them. Exits non-zero when anything failed.
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import harness  # noqa: E402


class Result(unittest.TextTestResult):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.passed = []

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)


def main():
    verbosity = 2 if "-v" in sys.argv else 1
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    start = time.time()
    res = unittest.TextTestRunner(stream=sys.stdout, verbosity=verbosity, resultclass=Result).run(suite)
    took = time.time() - start
    ci = os.environ.get("CI") == "true"
    print()
    for test, why in res.skipped:
        print(f"SKIPPED {test.id()}: {why}" + (" (not allowed with CI=true)" if ci else ""))
    if harness.AGREEMENT:
        print("\nAgreement with fdrmfl predict (y) and extract (z): max abs error, relative to max |value|")
        print(f"{'case':28} {'inputs':22} {'engine':13} {'y abs':>9} {'y rel':>9} {'z abs':>9} {'z rel':>9}")
        keys = sorted({k[:3] for k in harness.AGREEMENT})
        for case, variant, engine in keys:
            ya, yr = harness.AGREEMENT.get((case, variant, engine, "y"), (float("nan"),) * 2)
            za, zr = harness.AGREEMENT.get((case, variant, engine, "z"), (float("nan"),) * 2)
            print(f"{case:28} {variant:22} {engine:13} {ya:9.2e} {yr:9.2e} {za:9.2e} {zr:9.2e}")
        worst = max(r for _, r in harness.AGREEMENT.values())
        print(f"worst relative error {worst:.2e} over {len(harness.AGREEMENT)} comparisons (tolerance {harness.TOL:g})")
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    if ci:
        failed += skipped
    print(f"\nran in {took:.1f} s")
    print(f"python: {len(res.passed)} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
