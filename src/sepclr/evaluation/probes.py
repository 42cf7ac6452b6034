"""Linear probes: how well a representation predicts a factor (logistic regression for
classes, linear regression for continuous values)."""

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def _classifier_predictions(
    train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray
) -> np.ndarray:
    """The test rows' labels predicted by a logistic-regression probe fitted on the train
    rows (features standardised on the train rows)."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(train_features, train_labels)
    predicted: np.ndarray = probe.predict(test_features)
    return predicted


def probe_balanced_accuracy(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
) -> float:
    """Balanced accuracy (percent) on the test rows of a logistic-regression probe fitted on the
    train rows (features standardised on the train rows).
    """
    predicted = _classifier_predictions(train_features, train_labels, test_features)
    return 100.0 * float(balanced_accuracy_score(test_labels, predicted))


def probe_mean_absolute_error(
    train_features: np.ndarray,
    train_values: np.ndarray,
    test_features: np.ndarray,
    test_values: np.ndarray,
) -> float:
    """Mean absolute error on the test rows of a linear-regression probe fitted on the train
    rows (features standardised on the train rows), in the unit of the values.
    """
    probe = make_pipeline(StandardScaler(), LinearRegression())
    probe.fit(train_features, train_values)
    return float(mean_absolute_error(test_values, probe.predict(test_features)))


def probe_accuracy(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
) -> float:
    """Plain accuracy (percent) of the probe of :func:`probe_balanced_accuracy`."""
    predicted = _classifier_predictions(train_features, train_labels, test_features)
    return 100.0 * float(accuracy_score(test_labels, predicted))
