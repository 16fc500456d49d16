"""Reading safetensors files with numpy alone.

The format (https://huggingface.co/docs/safetensors) is an 8-byte
little-endian header length n, n bytes of JSON naming each tensor's dtype,
shape and byte range [begin, end) within the data that follows, then the
raw little-endian data. fdrmfl writes F32 tensors; the other common dtypes
are read too.
"""

import json
import os

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

# A corrupt length must not make the reader allocate without limit.
_MAX_HEADER = 100 << 20


def _bf16(raw):
    """BF16 is the upper half of a float32."""
    u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    return u.view(np.float32)


def read_safetensors(path):
    """Read the safetensors file at path.

    Returns (tensors, metadata): a dict from tensor name to a numpy array
    of its dtype and shape, in the order of the data in the file, and the
    file's string metadata (empty when it has none). Any inconsistency is
    a ValueError that names the file and, where it applies, the tensor.
    """
    with open(path, "rb") as f:
        blob = f.read()
    return parse_safetensors(blob, name=os.fspath(path))


def parse_safetensors(blob, name="<bytes>"):
    """Parse the bytes of a safetensors file; see read_safetensors."""
    if len(blob) < 8:
        raise ValueError(f"{name}: {len(blob)} bytes, too short for a safetensors header length")
    n = int.from_bytes(blob[:8], "little")
    if n > _MAX_HEADER or 8 + n > len(blob):
        raise ValueError(f"{name}: header length {n} does not fit the file's {len(blob)} bytes")
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8").rstrip(" "))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{name}: header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name}: header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    data = memoryview(blob)[8 + n :]
    entries = []
    for key, e in header.items():
        try:
            dtype, shape, (b, end) = e["dtype"], [int(d) for d in e["shape"]], e["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{name}: tensor {key!r}: entry {e!r} lacks dtype, shape or data_offsets") from None
        entries.append((int(b), int(end), key, dtype, shape))
    entries.sort()
    out = {}
    nxt = 0
    for b, end, key, dtype, shape in entries:
        if dtype == "BF16":
            size = 2
        elif dtype in _DTYPES:
            size = _DTYPES[dtype].itemsize
        else:
            raise ValueError(f"{name}: tensor {key!r}: unsupported dtype {dtype!r}")
        if any(d < 0 for d in shape):
            raise ValueError(f"{name}: tensor {key!r}: bad shape {shape}")
        count = int(np.prod(shape, dtype=np.int64))
        if b != nxt or end - b != count * size or end > len(data):
            raise ValueError(
                f"{name}: tensor {key!r}: byte range [{b}, {end}) does not fit shape {shape} of {dtype} "
                f"after offset {nxt} in {len(data)} data bytes"
            )
        nxt = end
        raw = data[b:end]
        arr = _bf16(raw) if dtype == "BF16" else np.frombuffer(raw, dtype=_DTYPES[dtype])
        out[key] = arr.reshape(shape).copy()
    if nxt != len(data):
        raise ValueError(f"{name}: {len(data) - nxt} bytes after the last tensor")
    return out, dict(meta)
