"""``table-study``: your table (CSV, TSV, Parquet), rows split by a group column
(:func:`sepclr.data.tables.table_study`)."""

from sepclr.data.readers import SAMPLE_READERS
from sepclr.data.tables import table_study, table_study_samples
from sepclr.registry import DatasetInfo, register_dataset

register_dataset(
    DatasetInfo(
        "table-study",
        table_study,
        "your table (CSV, TSV, Parquet): rows split by a group column; numeric features",
        "your own file: --data-dir holds it (see sepclr.data.tables)",
        path_options=("table",),
    )
)
SAMPLE_READERS["table-study"] = table_study_samples
