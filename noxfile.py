#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2025.2.9"]
# ///
"""Developer sessions: ``nox -s lint typing tests slow docs build``.

``nox`` alone runs the default sessions (lint, typing, tests); ``./noxfile.py`` works too.

Every session installs torch from the CPU wheel that pip's find-links provide: the
``torch<2.14`` bound in pyproject.toml keeps a fresh virtualenv from downloading the
newest CUDA build.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"

DIR = Path(__file__).parent.resolve()
PYPROJECT = nox.project.load_toml(DIR / "pyproject.toml")


def _install(session: nox.Session, *groups: str, extras: str = "") -> None:
    session.install("pip>=25.1")
    target = f".[{extras}]" if extras else "."
    args = [a for g in groups for a in ("--group", g)]
    session.install("-e", target, *args)


@nox.session(default=True)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check (the same checks as the pre-commit hooks)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session(default=True)
def tests(session: nox.Session) -> None:
    """The fast test suite (what CI runs)."""
    _install(session, "test")
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def slow(session: nox.Session) -> None:
    """Slow tests: Pythia generation (needs the pythia extra), examples, long runs."""
    _install(session, "test", extras="pythia")
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session(default=True)
def typing(session: nox.Session) -> None:
    """mypy (strict, configured in pyproject.toml) on the package."""
    # the test group brings the optional libraries (h5py, dask, matplotlib, tensorboard)
    # so that mypy sees their types instead of reporting missing imports
    _install(session, "test", "typing")
    session.run("mypy", *session.posargs)


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors."""
    _install(session, "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs)


@nox.session(default=False)
def build(session: nox.Session) -> None:
    """Build the sdist and wheel into dist/."""
    build_path = DIR / "dist"
    if build_path.exists():
        shutil.rmtree(build_path)
    session.install("build")
    session.run("python", "-m", "build")


if __name__ == "__main__":
    nox.main()
