"""``anndata-study``: your single-cell AnnData, cells split by an ``obs`` column
(:func:`sepclr.data.tables.anndata_study`)."""

from sepclr.data.tables import anndata_study
from sepclr.registry import DatasetInfo, register_dataset

register_dataset(
    DatasetInfo(
        "anndata-study",
        anndata_study,
        "your single-cell AnnData (.h5ad): cells split by an obs column; genes as features",
        "your own file: --data-dir holds it (see sepclr.data.tables)",
        path_options=("file",),
        preset="single-cell",
    )
)
