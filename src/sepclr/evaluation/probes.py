"""Linear probes: how well a representation predicts a factor (logistic regression)."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def probe_balanced_accuracy(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
) -> float:
    """Balanced accuracy (percent) on the test rows of a logistic-regression probe fitted on the
    train rows (features standardised on the train rows)."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(train_features, train_labels)
    return 100.0 * float(balanced_accuracy_score(test_labels, probe.predict(test_features)))
