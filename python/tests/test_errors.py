"""Bad input gets an error that names the file, modality, sample or tensor
at fault."""

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


def _safetensors(tensors, meta=None):
    header = {}
    if meta:
        header["__metadata__"] = meta
    off, data = 0, b""
    for name, a in tensors.items():
        b = np.asarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(a)), "data_offsets": [off, off + len(b)]}
        off += len(b)
        data += b
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + data


class Safetensors(unittest.TestCase):
    def test_round_trip(self):
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        got, meta = fdrmfl.parse_safetensors(_safetensors({"w": a, "s": np.float32(2)}, {"k": "v"}))
        np.testing.assert_array_equal(got["w"], a)
        self.assertEqual(got["s"].shape, ())
        self.assertEqual(meta, {"k": "v"})

    def test_corrupt(self):
        good = _safetensors({"w": np.ones((2, 2))})
        cases = {
            "short": (good[:5], "too short"),
            "length": ((10**9).to_bytes(8, "little") + good[8:], "header length"),
            "json": (good[:8] + b"{" * (len(good) - 8), "not valid JSON"),
            "truncated data": (good[:-4], "'w': byte range"),
            "trailing": (good + b"\0\0\0\0", "4 bytes after the last tensor"),
        }
        for name, (blob, msg) in cases.items():
            with self.subTest(name), self.assertRaisesRegex(ValueError, msg):
                fdrmfl.parse_safetensors(blob, name="x.safetensors")


class Inputs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = harness.train(harness.CASES[0])  # vec [12] and sig [2, 24]
        cls.m = fdrmfl.load(cls.t.model_dir)
        cls.x = cls.t.inputs["complete"]

    def test_errors(self):
        x = self.x
        partly = {k: v.copy() for k, v in x.items()}
        partly["sig"][3, :5] = np.nan
        both = {k: v.copy() for k, v in x.items()}
        for v in both.values():
            v[4] = np.nan
        cases = {
            "unknown modality": ({**x, "nir": x["vec"]}, ValueError, "no modality 'nir'"),
            "wrong width": ({"vec": x["vec"][:, :5], "sig": x["sig"]}, ValueError, r"modality 'vec': array of shape \(60, 5\)"),
            "row counts": ({"vec": x["vec"][:10], "sig": x["sig"]}, ValueError, "'sig' has 60 samples but 'vec' has 10"),
            "partly NaN": (partly, ValueError, "modality 'sig': sample 3 .* partly NaN"),
            "no modality": (both, ValueError, "sample 4 .* none of the model's modalities"),
            "single array": (x["vec"], TypeError, "2 modalities"),
            "nothing": ({}, ValueError, "no input"),
        }
        for name, (inp, exc, msg) in cases.items():
            with self.subTest(name), self.assertRaisesRegex(exc, msg):
                self.m.predict(inp)


class Folder(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        src = harness.train(harness.CASES[0]).model_dir
        for f in ("manifest.json", "model.safetensors"):
            shutil.copy(os.path.join(src, f), self.dir)
        with open(os.path.join(self.dir, "manifest.json")) as f:
            self.manifest = json.load(f)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, manifest=None, tensors=None):
        if manifest is not None:
            with open(os.path.join(self.dir, "manifest.json"), "w") as f:
                json.dump(manifest, f)
        if tensors is not None:
            with open(os.path.join(self.dir, "model.safetensors"), "wb") as f:
                f.write(_safetensors(tensors))

    def test_manifest(self):
        def edit(f):
            m = json.loads(json.dumps(self.manifest))
            f(m)
            return m

        cases = {
            "format": (edit(lambda m: m.update(format="fdrmfl-model/9")), "manifest format 'fdrmfl-model/9'"),
            "encoder": (edit(lambda m: m["model"]["modalities"][0]["encoder"].update(type="transformer")),
                        r"modalities\[0\] \(vec\): encoder type 'transformer'"),
            "fusion": (edit(lambda m: m["model"]["fusion"].update(type="gated")), "fusion.type 'gated'"),
            "scaling": (edit(lambda m: m["standardizer"]["modalities"][0].update(mean=[0.0])), "standardizer modality 'vec'"),
            "no standardizer": (edit(lambda m: m.pop("standardizer")), "no standardizer"),
        }
        for name, (man, msg) in cases.items():
            with self.subTest(name):
                self.write(manifest=man)
                with self.assertRaisesRegex(ValueError, msg):
                    fdrmfl.load(self.dir)
        with open(os.path.join(self.dir, "manifest.json"), "w") as f:
            f.write("{")
        with self.assertRaisesRegex(ValueError, "manifest.json: not valid JSON"):
            fdrmfl.load(self.dir)

    def test_tensors(self):
        ts, _ = fdrmfl.read_safetensors(os.path.join(self.dir, "model.safetensors"))
        less = dict(ts)
        del less["head.0.bias"]
        self.write(tensors=less)
        with self.assertRaisesRegex(ValueError, "lacks tensor 'head.0.bias'"):
            fdrmfl.load(self.dir)
        self.write(tensors={**ts, "head.9.weight": np.zeros(2)})
        with self.assertRaisesRegex(ValueError, "tensor 'head.9.weight', which the network does not use"):
            fdrmfl.load(self.dir)


if __name__ == "__main__":
    unittest.main()
