"""What drives a code: feature attributions (:func:`explain`), loadings of a table's code
directions (:func:`feature_loadings`), and the files and figures of ``sepclr explain``."""

from sepclr.attribution.explain import METHODS, Attributions, explain, feature_loadings

__all__ = ["METHODS", "Attributions", "explain", "feature_loadings"]
