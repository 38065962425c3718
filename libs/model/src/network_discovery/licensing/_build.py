"""Compile ``verifier.py`` with Cython, in place: ``python -m network_discovery.licensing._build``.

The extension module lands next to ``verifier.py``; Python's import system prefers it to the
source file, so ``from network_discovery.licensing import verifier`` loads the compiled one.
Needs Cython (extra ``[compiled]``), a C compiler and the Python headers.
"""

from __future__ import annotations

import sys
import sysconfig
import tempfile
from pathlib import Path

__all__ = ["build"]


def build(directory: Path | None = None) -> Path:
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    here = Path(directory or Path(__file__).parent)
    ext = Extension("network_discovery.licensing.verifier", [str(here / "verifier.py")])
    modules = cythonize(
        [ext],
        compiler_directives={"language_level": "3", "annotation_typing": False},
        build_dir=tempfile.mkdtemp(prefix="meshq-cython-"),
        quiet=True,
    )
    dist = Distribution({"ext_modules": modules})
    cmd = build_ext(dist)
    cmd.build_temp = tempfile.mkdtemp(prefix="meshq-build-")
    cmd.build_lib = tempfile.mkdtemp(prefix="meshq-lib-")
    cmd.ensure_finalized()
    cmd.run()
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    built = Path(cmd.build_lib) / "network_discovery" / "licensing" / f"verifier{suffix}"
    target = here / built.name
    target.write_bytes(built.read_bytes())
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
