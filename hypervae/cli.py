"""The ``hypervae`` command.

Each sub-command lives beside the code it drives, in a module with a
``register(subparsers)`` function that adds its parser and sets ``func`` (a callable
taking the parsed namespace and returning an exit code). This module only collects them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Modules providing ``register(subparsers)``, in the order shown by ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "hypervae.datasets.cli",
    "hypervae.graph.cli",
    "hypervae.training.cli",
    "hypervae.model.cli",
    "hypervae.evaluation.cli",
    "hypervae.taggers.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="hypervae",
        description="Jets with a Lorentz-equivariant hypergraph VAE: data, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"hypervae {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, OSError, ImportError) as error:
        print(f"hypervae {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
