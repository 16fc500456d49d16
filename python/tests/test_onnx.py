"""`fdrmfl export` writes ONNX models that onnx.checker accepts (with
full shape inference) and that compute what `fdrmfl predict` and `fdrmfl
extract` compute, for every case of harness.CASES, with and without the
missing-modality handling (--complete). The graphs are evaluated in
float64, and in float32 as a runtime would."""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

try:
    import onnx  # noqa: F401

    HAVE_ONNX = True
except ImportError:
    HAVE_ONNX = False


@unittest.skipUnless(HAVE_ONNX, "onnx is not importable (Debian: python3-onnx)")
class Export(unittest.TestCase):
    def export(self, t, complete):
        import onnx

        path = os.path.join(t.folder, "complete.onnx" if complete else "model.onnx")
        harness.run("export", "--model", t.model_dir, "--onnx", path, *(["--complete"] if complete else []))
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        return m

    def test_agreement(self):
        import onnx_eval

        for case in harness.CASES:
            with self.subTest(case=case.name):
                t = harness.train(case)
                if case.preprocess:
                    # The export does not express preprocessing yet: it must
                    # refuse, naming it.
                    with self.assertRaises(Exception) as cm:
                        self.export(t, False)
                    self.assertIn("preprocesses its spectra", str(cm.exception))
                    continue
                full, comp = self.export(t, False), self.export(t, True)
                self.assertEqual(full.opset_import[0].version, 13)
                names = [i.name for i in full.graph.input]
                self.assertEqual(names, list(case.modalities))
                for variant, inp in t.inputs.items():
                    n = next(iter(inp.values())).shape[0]
                    feeds = {}
                    for name in names:
                        shape = [d.dim_value for d in next(i for i in full.graph.input if i.name == name).type.tensor_type.shape.dim[1:]]
                        x = inp.get(name, np.full((n, int(np.prod(shape))), np.nan, dtype=np.float32))
                        feeds[name] = x.reshape([n] + shape)
                    wy, wz = t.runs[variant]
                    engines = [("onnx", full, np.float64), ("onnx-f32", full, np.float32)]
                    if variant == "complete":
                        engines.append(("onnx-complete", comp, np.float64))
                    outputs = [o.name for o in full.graph.output]
                    self.assertEqual(outputs, ["y", "z"] if wz.shape[1] else ["y"])  # a ridge model has no z
                    for engine, m, dtype in engines:
                        out = onnx_eval.run(m, feeds, dtype=dtype)
                        for o, ref in (("y", wy), ("z", wz)):
                            if o not in outputs:
                                continue
                            a, r = harness.record(case.name, variant, engine, o, out[o], ref)
                            self.assertLessEqual(r, harness.TOL, f"{case.name} {variant} {engine} {o}: max abs {a:.3g}, relative {r:.3g}")

    def test_metadata(self):
        t = harness.train(next(c for c in harness.CASES if c.name == "corn-csv"))
        m = self.export(t, False)
        props = {p.key: p.value for p in m.metadata_props}
        self.assertEqual(props["fdrmfl.responses"], "protein,oil")
        self.assertEqual([o.name for o in m.graph.output], ["y", "z"])
        self.assertEqual(m.graph.input[0].type.tensor_type.shape.dim[0].dim_param, "batch")


if __name__ == "__main__":
    unittest.main()
