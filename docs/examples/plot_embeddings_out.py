"""
Codes as a table, from a DataFrame
==================================

A model fitted on pandas DataFrames remembers their columns; its codes go back into a
DataFrame beside each sample's identifier, ready for plotting or a statistics package.

Here controls and patients share a *site* effect (genes 1-3), and only patients have a
*subtype* pattern (gene 0).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import sepclr
from sepclr.export import code_columns

rng = np.random.default_rng(0)
genes = [f"gene_{k}" for k in range(6)]


def group(n, with_subtype):
    """``n`` samples of 6 genes, their site and their subtype."""
    values = rng.normal(size=(n, 6))
    site, subtype = rng.integers(0, 2, n), rng.integers(0, 2, n)
    values[:, 1:4] += np.where(site == 1, 3.0, -3.0)[:, None]
    if with_subtype:
        values[:, 0] += np.where(subtype == 1, 2.5, -2.5)
    return pd.DataFrame(values, columns=genes), site, subtype


controls, _, _ = group(300, with_subtype=False)
patients, site, subtype = group(300, with_subtype=True)
model = sepclr.CPCA(2, 2, alpha=2.0, standardize=False)
model.fit(controls, patients)
common, salient = model.transform(patients)
ids = ("patient", np.arange(len(patients)))
codes = pd.DataFrame(code_columns(common, salient, ids))
print(codes.head())

# %%
# The salient space separates the patient subtypes and not the sites; the common space, a
# PCA of both groups, holds the sites (and the subtypes too: they are the next largest
# variation of the pooled samples). Accuracy of a logistic regression on each space:
for space in ("common", "salient"):
    x = codes[[f"{space}_0", f"{space}_1"]].to_numpy()
    for name, labels in (("site", site), ("subtype", subtype)):
        score = LogisticRegression().fit(x, labels).score(x, labels)
        print(f"{space:>8} space, {name:>7}: {100 * score:.0f} %")

# %%
# The same, drawn:
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
panels = (("common", site, "site"), ("salient", subtype, "subtype"))
for axis, (space, colour, name) in zip(axes, panels, strict=True):
    x, y = codes[f"{space}_0"], codes[f"{space}_1"]
    axis.scatter(x, y, c=colour, s=8, cmap="coolwarm")
    axis.set_title(f"{space} space, patients by {name}")
fig.tight_layout()
