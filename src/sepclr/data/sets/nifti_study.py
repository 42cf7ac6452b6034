"""``nifti-study``: your NIfTI volumes listed in a participants table
(:func:`sepclr.data.volumes.nifti_study`)."""

from sepclr.data.readers import SAMPLE_READERS
from sepclr.data.volumes import nifti_study, nifti_study_samples
from sepclr.registry import DatasetInfo, register_dataset

register_dataset(
    DatasetInfo(
        "nifti-study",
        nifti_study,
        "your NIfTI study: volumes listed in a participants table with group and covariates",
        "your own files: --data-dir holds participants.tsv (see sepclr.data.volumes)",
        path_options=("table",),
    )
)
SAMPLE_READERS["nifti-study"] = nifti_study_samples
