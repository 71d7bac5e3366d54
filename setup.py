"""Build of the optional C code behind the 'cpu' backend; everything else is in pyproject.toml.

optional=True: without a working C compiler the install still succeeds and the backend reports
itself unavailable. No -march=native: the modules pick AVX2+FMA or the baseline ISA at run
time. No -ffast-math: the exp2's rounding trick and the bit-identity tests (merging points,
spotting cycles) need IEEE arithmetic as written. _initial reproduces rng.py's roundings one by
one, so it also forbids contracting a multiply and an add into one fused operation.
"""

from setuptools import Extension, setup

FLAGS = ["-O3", "-fno-math-errno", "-pthread", "-Wno-psabi"]

setup(
    ext_modules=[
        Extension(
            "generator.kernels._cpu",
            ["generator/kernels/_cpu.c"],
            extra_compile_args=FLAGS,
            extra_link_args=["-pthread"],
            optional=True,
        ),
        Extension(
            "generator.kernels._initial",
            ["generator/kernels/_initial.c"],
            extra_compile_args=[*FLAGS, "-ffp-contract=off"],
            extra_link_args=["-pthread"],
            optional=True,
        ),
    ]
)
