"""The Python model, its PyTorch module and the scikit-learn-style wrapper
give what `fdrmfl predict` and `fdrmfl extract` give, for every encoder
type, fusion, scaling mode and missing-modality pattern of harness.CASES."""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fdrmfl  # noqa: E402
import harness  # noqa: E402

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


class Agreement(unittest.TestCase):
    def check(self, engine, case, variant, got_y, got_z, want):
        wy, wz = want
        for out, got, ref in (("y", got_y, wy), ("z", got_z, wz)):
            a, r = harness.record(case, variant, engine, out, got, ref)
            self.assertLessEqual(r, harness.TOL, f"{case} {variant} {engine} {out}: max abs error {a:.3g}, relative {r:.3g}")

    def test_numpy(self):
        for case in harness.CASES:
            with self.subTest(case=case.name):
                t = harness.train(case)
                m = fdrmfl.load(t.model_dir)
                for variant, inp in t.inputs.items():
                    z, y = m.apply(inp)
                    self.check("numpy", case.name, variant, y, z, t.runs[variant])

    @unittest.skipUnless(HAVE_TORCH, "torch is not importable")
    def test_torch(self):
        import torch

        for case in harness.CASES:
            with self.subTest(case=case.name):
                t = harness.train(case)
                m = fdrmfl.load(t.model_dir)
                tm = m.to_torch()
                names = set(tm.state_dict())
                self.assertEqual(names, set(fdrmfl.read_safetensors(os.path.join(t.model_dir, "model.safetensors"))[0]))
                for variant, inp in t.inputs.items():
                    with torch.no_grad():
                        y, z = tm({k: torch.from_numpy(v) for k, v in inp.items()})
                    self.check("torch", case.name, variant, y.numpy(), z.numpy(), t.runs[variant])

    def test_estimator(self):
        for case in harness.CASES[:3]:
            with self.subTest(case=case.name):
                t = harness.train(case)
                est = fdrmfl.FDRMFLEstimator(model_dir=t.model_dir)
                inp = t.inputs["complete"]
                wy, wz = t.runs["complete"]
                self.assertLessEqual(harness.rel_err(est.predict(inp), wy)[1], harness.TOL)
                self.assertLessEqual(harness.rel_err(est.transform(inp), wz)[1], harness.TOL)
                self.assertEqual(est.get_feature_names_out(), [f"z{k + 1}" for k in range(wz.shape[1])])
                with self.assertRaisesRegex(NotImplementedError, "trained by federated learning in fdrmfl"):
                    est.fit(inp, wy)

    def test_single_array(self):
        case = next(c for c in harness.CASES if c.name == "conv2d-mean")
        t = harness.train(case)
        m = fdrmfl.load(t.model_dir)
        x = t.inputs["complete"]["img"]
        wy, wz = t.runs["complete"]
        for form in (x, x.reshape(len(x), 2, 6, 6)):  # flat as in the CSV, or shaped
            self.assertLessEqual(harness.rel_err(m.predict(form), wy)[1], harness.TOL)
            self.assertLessEqual(harness.rel_err(fdrmfl.FDRMFLEstimator.from_model(m).transform(form), wz)[1], harness.TOL)


if __name__ == "__main__":
    unittest.main()
