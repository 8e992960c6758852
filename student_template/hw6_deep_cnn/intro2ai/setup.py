"""Builds the optional compiled kernels: run `python setup.py build_ext --inplace` in this folder.

im2col_cython (im2col/col2im for fast_layers.py) and optim_cython (the one-pass Adam step for
optim.py). Without them, fast_layers.py and optim.py fall back to pure numpy (see each file for
timings).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    name="intro2ai-kernels",
    ext_modules=cythonize([
        Extension("im2col_cython", ["im2col_cython.pyx"], extra_compile_args=["-O3"]),
        Extension("optim_cython", ["optim_cython.pyx"], extra_compile_args=["-O3", "-fno-math-errno"]),
    ]),
)
