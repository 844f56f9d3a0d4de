"""Only the compiled extension lives here; everything else about the package is in pyproject.toml."""
from setuptools import Extension, setup

setup(ext_modules=[
    # the accuracy harness's bit-error core (archsim/accuracy/_bitflip.c): C11 and the Python headers, which every
    # machine of this project's kind has (gcc); no fast-math, the formats' rounding must be IEEE's; no strict
    # aliasing: the dense pass reads its packed bit arrays both as words of the format's width and as 64-bit chunks
    Extension("archsim.accuracy._bitflip", ["archsim/accuracy/_bitflip.c"],
              # the dense pass is included once per instruction-set build, the worker thread once
              depends=["archsim/accuracy/_bitflip_dense.h", "archsim/accuracy/_bitflip_worker.h"],
              extra_compile_args=["-O3", "-std=c11", "-fno-fast-math", "-fno-strict-aliasing", "-pthread"],
              extra_link_args=["-pthread"]),
])
