"""Sphinx configuration of the sepclr documentation (``make docs``)."""

import matplotlib

matplotlib.use("Agg")

import sepclr  # noqa: E402

project = "sepclr"
author = "the sepclr developers"
copyright = "2026, the sepclr developers"  # noqa: A001
release = version = sepclr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinxarg.ext",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples"]
myst_heading_anchors = 3
smartquotes = False  # keep "--flag" as typed

autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "show_signature": False,
}

html_theme = "pydata_sphinx_theme"
html_title = "sepclr"
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}
html_static_path: list[str] = []
html_sidebars: dict[str, list[str]] = {"**": []}  # the top bar navigates; wider pages

# Every documented object has its parameters and return values in numpydoc sections; a
# missing or unknown one fails the build (-W).
numpydoc_validation_checks = {"PR01", "PR02", "PR10", "RT01", "RT02", "GL08"}
