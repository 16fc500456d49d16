"""fdrmfl: load a model trained by the fdrmfl Go command and apply it with
numpy.

    import fdrmfl
    m = fdrmfl.load("out/model")
    z = m.extract({"m5": x5, "mp5": x5p})   # the features Z
    y = m.predict({"m5": x5, "mp5": x5p})   # ŷ in the responses' units

See Model for the forward pass, FDRMFLEstimator for a scikit-learn-style
wrapper, and Model.to_torch for a PyTorch module with the same weights.
"""

from .model import MANIFEST_FORMAT, Model, load
from .safetensors import parse_safetensors, read_safetensors
from .sklearn import FDRMFLEstimator

__all__ = ["FDRMFLEstimator", "MANIFEST_FORMAT", "Model", "load", "parse_safetensors", "read_safetensors"]
__version__ = "0.1.0"
