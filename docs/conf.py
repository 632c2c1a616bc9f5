"""Sphinx configuration: the guides (guides/*.md) and the API reference (api.rst), built from the
docstrings. Build: ``python -m sphinx -W --keep-going -b html docs docs/_build`` (tests/docs does)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
os.environ.setdefault("KERAS_BACKEND", "torch")  # framepipe.keras imports keras, which needs a backend

import framepipe

project = "framepipe"
author = "the framepipe developers"
copyright = "2026, the framepipe developers"  # the footer
release = version = framepipe.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "architecture.dot"]
html_theme = "furo"
html_title = f"framepipe {release}"
html_static_path = ["_static"]
html_css_files = ["framepipe.css"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # dataclass fields: documented once, in the class's Attributes section
myst_heading_anchors = 2
