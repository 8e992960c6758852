"""Builds the optional compiled im2col: run `python setup.py build_ext --inplace` in this folder.

Without it, fast_layers.py falls back to the pure-numpy im2col.py (see fast_layers.py for timings).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    name="intro2ai-im2col",
    ext_modules=cythonize([Extension("im2col_cython", ["im2col_cython.pyx"])]),
)
