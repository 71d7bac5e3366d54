"""Build of the optional C kernel behind the 'cpu' backend; everything else is in pyproject.toml.

optional=True: without a working C compiler the install still succeeds and the backend reports
itself unavailable. No -march=native: the module picks AVX2+FMA or the baseline ISA at run
time. No -ffast-math: the exp2's rounding trick and the bit-identity tests (merging points,
spotting cycles) need IEEE arithmetic as written.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "generator.kernels._cpu",
            ["generator/kernels/_cpu.c"],
            extra_compile_args=["-O3", "-fno-math-errno", "-pthread", "-Wno-psabi"],
            extra_link_args=["-pthread"],
            optional=True,
        )
    ]
)
