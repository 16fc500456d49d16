"""Linear models (model.kind pls, ridge) load as fdrmfl.LinearModel and
apply as `fdrmfl predict` and `fdrmfl extract` do (test_agreement and
test_onnx check the numbers for harness.CASES); here, what is particular
to them."""

import json
import os
import shutil
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fdrmfl  # noqa: E402
import harness  # noqa: E402


def case(name):
    return harness.train(next(c for c in harness.CASES if c.name == name))


class Linear(unittest.TestCase):
    def test_pls(self):
        t = case("linear-pls")
        m = fdrmfl.load(t.model_dir)
        self.assertIsInstance(m, fdrmfl.LinearModel)
        self.assertEqual(m.kind, "pls")
        self.assertEqual(m.features, m.fit["components"])
        self.assertEqual(len(m.fit["cv"]), 6)  # linear.max_components: 6
        self.assertEqual(sorted(m.tensors), ["features.bias", "features.weight", "head.bias", "head.weight"])
        self.assertIn("components", repr(m))
        # Z feeds the head: ŷ = head(Z), in standardised units.
        x, present = m.standardize(t.inputs["complete"])
        pred, z = m.forward_standardized(x, present)
        np.testing.assert_allclose(pred, z @ m.tensors["head.weight"].T + m.tensors["head.bias"])
        est = fdrmfl.FDRMFLEstimator(model_dir=t.model_dir)
        np.testing.assert_array_equal(est.transform(t.inputs["complete"]), m.extract(t.inputs["complete"]))
        self.assertEqual(est.get_feature_names_out(), [f"z{k + 1}" for k in range(m.features)])

    def test_ridge_has_no_features(self):
        t = case("linear-ridge-lacks")
        m = fdrmfl.load(t.model_dir)
        self.assertEqual((m.kind, m.features), ("ridge", 0))
        self.assertEqual(sorted(m.tensors), ["head.bias", "head.weight"])
        z, y = m.apply(t.inputs["complete"])
        self.assertEqual(z.shape, (y.shape[0], 0))
        with self.assertRaisesRegex(ValueError, "a ridge model has no features Z beyond its predictions; use predict"):
            m.extract(t.inputs["complete"])

    def test_network_class_refuses_a_linear_manifest(self):
        t = case("linear-pls")
        with open(os.path.join(t.model_dir, "manifest.json")) as f:
            manifest = json.load(f)
        tensors, _ = fdrmfl.read_safetensors(os.path.join(t.model_dir, "model.safetensors"))
        with self.assertRaisesRegex(ValueError, "a pls model, not the network: load it with fdrmfl.load"):
            fdrmfl.Model(manifest, tensors, source="x")
        manifest["model"]["kind"] = "svm"
        with self.assertRaisesRegex(ValueError, "model.kind 'svm' is not one of"):
            fdrmfl.Model.from_manifest(manifest, tensors, source="x")

    def test_errors(self):
        t = case("linear-pls")
        with open(os.path.join(t.model_dir, "manifest.json")) as f:
            good = json.load(f)
        tensors, _ = fdrmfl.read_safetensors(os.path.join(t.model_dir, "model.safetensors"))
        cases = {
            "no fit": (lambda m, ts: m.pop("linear"), 'without its fit \\(manifest field "linear"\\)'),
            "features": (lambda m, ts: m["model"].update(features=0), "a pls model with model.features 0"),
            "shape": (lambda m, ts: ts.update({"head.bias": np.zeros(3, dtype=np.float32)}), "tensor 'head.bias' has shape \\[3\\]"),
            "missing": (lambda m, ts: ts.pop("features.bias"), "lacks tensor 'features.bias'"),
            "nan": (lambda m, ts: ts.update({"head.bias": np.array([np.nan, 0], dtype=np.float32)}), "'head.bias' holds a value that is not finite"),
        }
        for name, (edit, msg) in cases.items():
            with self.subTest(name):
                m, ts = json.loads(json.dumps(good)), dict(tensors)
                edit(m, ts)
                with self.assertRaisesRegex(ValueError, msg):
                    fdrmfl.LinearModel(m, ts, source="x")

    def test_to_torch_state_dict(self):
        try:
            import torch  # noqa: F401
        except ImportError:
            self.skipTest("torch is not importable")
        t = case("linear-ridge-lacks")
        m = fdrmfl.load(t.model_dir)
        sd = m.to_torch().state_dict()
        self.assertEqual(set(sd), set(m.tensors))
        for k, v in sd.items():
            np.testing.assert_array_equal(v.numpy(), m.tensors[k].astype(np.float32))


if __name__ == "__main__":
    unittest.main()
