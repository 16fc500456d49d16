"""A scikit-learn-style estimator around a trained model folder.

It needs scikit-learn neither to import nor to run; get_params and
set_params make it clonable by scikit-learn's tools.
"""

from .model import Model


class FDRMFLEstimator:
    """A trained FDRMFL model as a scikit-learn-style transformer and
    regressor: transform(X) returns the features Z, predict(X) the
    responses ŷ in their original units.

    X is a dict from modality name to an array of n samples (each of the
    modality's shape, or flattened as in the CSV files), or a single array
    for a model of one modality. Training happens in fdrmfl (a simulated or
    real federation), not here, so fit raises.
    """

    def __init__(self, model_dir=None):
        self.model_dir = model_dir
        self._model = None

    @classmethod
    def from_model(cls, model):
        """Wrap an already loaded fdrmfl.Model."""
        est = cls(getattr(model, "source", None))
        est._model = model
        return est

    @property
    def model_(self):
        """The loaded fdrmfl.Model (loaded from model_dir on first use)."""
        if self._model is None:
            if self.model_dir is None:
                raise ValueError("FDRMFLEstimator: model_dir is not set (the folder with manifest.json and model.safetensors)")
            self._model = Model.load(self.model_dir)  # a Model or a LinearModel
        return self._model

    def get_params(self, deep=True):
        return {"model_dir": self.model_dir}

    def set_params(self, **params):
        for k, v in params.items():
            if k != "model_dir":
                raise ValueError(f"FDRMFLEstimator has no parameter {k!r} (it has model_dir)")
            self.model_dir, self._model = v, None
        return self

    def fit(self, X=None, y=None, **kwargs):
        raise NotImplementedError(
            "FDRMFLEstimator.fit: an FDRMFL model is trained by federated learning in fdrmfl "
            "(`fdrmfl simulate`, or `fdrmfl server` with `fdrmfl client` at each site); "
            "load the trained model folder with FDRMFLEstimator(model_dir=...) and use transform or predict"
        )

    def fit_transform(self, X, y=None, **kwargs):
        return self.fit(X, y)

    def transform(self, X):
        """The features Z, n×d (a PLS model's X-scores; a ridge model has
        none and raises)."""
        return self.model_.extract(X)

    def predict(self, X):
        """The predicted responses ŷ, n×q (q = 1 gives a column too)."""
        return self.model_.predict(X)

    def score(self, X, y):
        """R² of predict(X) against y, averaged over the responses."""
        import numpy as np

        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        p = self.predict(X)
        ss = ((y - p) ** 2).sum(axis=0)
        st = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        return float(np.mean(1 - ss / st))

    @property
    def feature_names_out_(self):
        return [f"z{k + 1}" for k in range(self.model_.features)]

    def get_feature_names_out(self, input_features=None):
        return list(self.feature_names_out_)

    def __repr__(self):
        return f"FDRMFLEstimator(model_dir={self.model_dir!r})"
