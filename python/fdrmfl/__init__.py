"""fdrmfl: load a model trained by the fdrmfl Go command and apply it with
numpy.

    import fdrmfl
    m = fdrmfl.load("out/model")
    z = m.extract({"m5": x5, "mp5": x5p})   # the features Z
    y = m.predict({"m5": x5, "mp5": x5p})   # ŷ in the responses' units

See Model for the network's forward pass, LinearModel for the linear
models (model.kind pls, ridge, lasso, enet), FDRMFLEstimator for a scikit-learn-style
wrapper, and Model.to_torch for a PyTorch module with the same weights.
"""

from .linear import LinearModel
from .model import LINEAR_KINDS, MANIFEST_FORMAT, Model, load
from .safetensors import parse_safetensors, read_safetensors
from .sklearn import FDRMFLEstimator

__all__ = ["FDRMFLEstimator", "LINEAR_KINDS", "LinearModel", "MANIFEST_FORMAT", "Model", "load", "parse_safetensors", "read_safetensors"]
__version__ = "0.1.0"
