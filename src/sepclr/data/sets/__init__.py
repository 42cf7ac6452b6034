"""The datasets, one module each: a module holds its dataset's builder (or names the
reader it shares), its options, its files and downloads, its probe protocol, and registers
it in :data:`sepclr.registry.DATASETS` when imported. :mod:`sepclr.data.catalog` imports
every module of this package, so a new dataset is one new module here (and its test)."""
