"""
Checking a separation without labels
====================================

On real data the salient factor is unknown. Fit SepCLR on breast-cancer nuclei where half
the targets were enlarged (the dataset knows which, the model does not), read the
diagnostics that need no labels, look at the salient scores, and let ``sepclr.select``
choose between a few settings by a criterion that uses only which rows are targets.
"""

import matplotlib.pyplot as plt
import numpy as np

import sepclr
from sepclr.evaluation.diagnostics import label_free_diagnostics, salient_scores

train = sepclr.datasets.load("breast-cancer-enlarged")
test = sepclr.datasets.load("breast-cancer-enlarged", split="test")
model = sepclr.SepCLR(verbose=False, device="cpu").fit(train.background, train.target)

# %%
# Diagnostics on held-out rows: the salient score (distance to ``s' = 0``) should tell
# targets from backgrounds, the two codes should not predict each other, and the common
# code should not tell the groups apart (AUC near 0.5).
found = label_free_diagnostics(
    model, (train.background, train.target), (test.background, test.target)
)
for name, value in found.items():
    print(f"{name:>24}: {value:.3f}")

# %%
# The salient scores of held-out samples. Half the targets are not enlarged and look like
# backgrounds, so the targets' scores have two modes; here the labels colour them, which a
# user could not do.
enlarged = test.factors["enlarged"] == 1
scores = {
    "background": salient_scores(model.transform(test.background)[1]),
    "target, not enlarged": salient_scores(model.transform(test.target[~enlarged])[1]),
    "target, enlarged": salient_scores(model.transform(test.target[enlarged])[1]),
}
bins = np.linspace(0, max(s.max() for s in scores.values()), 30).tolist()
fig, ax = plt.subplots(figsize=(7, 4))
for label, values in scores.items():
    ax.hist(values, bins=bins, alpha=0.5, label=label)
ax.set_xlabel("salient score")
_ = ax.legend()

# %%
# A label-free choice among three settings (three folds of each group); the chosen one is
# refitted on every row.
selection = sepclr.select(
    train.background,
    train.target,
    candidates=["paper", "paper-8", "corrected"],
    params={"device": "cpu"},
)
for row in selection.ranking:
    print(f"{row['name']:>10}: criterion {row['criterion']:+.3f}")
print("chosen:", selection.chosen)
