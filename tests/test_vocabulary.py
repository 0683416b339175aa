"""One vocabulary across the public API and the command line (issue 13 item 7).

Scans the signatures of every public function, class and public method that the
subpackages export (``__all__``) and the ``hypervae`` command's parsers.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

import hypervae

#: Names that must not appear as parameters of the public API, with the one to use.
FORBIDDEN = {
    "n_max": "max_particles",
    "type": "jet_type",
    "jet_types": "jet_type",
    "normalise": "normalize",
    "optimiser": "optimizer",
}
#: Where ``n`` is the order of an energy correlator (or tuple size), not a number of jets.
EEC_ORDER_MODULES = (
    "hypervae.physics",
    "hypervae.losses.eec",
    "hypervae.evaluation.efp",
    "hypervae.evaluation.plots.plot_eec",
    "hypervae.graph.select_tuples",
    "hypervae.graph.budget",
)


def _public_modules() -> Iterator[Any]:
    for info in pkgutil.walk_packages(hypervae.__path__, "hypervae."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")[1:]):
            continue
        if name.endswith(("cli", "__main__")):
            continue
        try:
            yield importlib.import_module(name)
        except ImportError:  # optional dependencies (pythia8mc, fastjet, h5py)
            continue


def _callables() -> Iterator[tuple[str, Any]]:
    seen: set[int] = set()
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if obj is None or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
            elif inspect.isclass(obj) and obj.__module__.startswith("hypervae"):
                yield f"{module.__name__}.{name}", obj.__init__
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    func = (
                        member.__func__
                        if isinstance(member, (classmethod, staticmethod))
                        else member
                    )
                    if inspect.isfunction(func):
                        yield f"{module.__name__}.{name}.{attr}", func


SIGNATURES = [
    (qualname, inspect.signature(func))
    for qualname, func in _callables()
    if not isinstance(func, type(object.__init__))
]


def test_scan_finds_the_public_api():
    names = {q for q, _ in SIGNATURES}
    assert "hypervae.model.network.HyperVAE.sample" in names or any(
        q.endswith("HyperVAE.sample") for q in names
    )
    assert any(q.endswith("to_padded") for q in names)
    assert len(SIGNATURES) > 150


def test_no_forbidden_parameter_names():
    bad = [
        f"{q}({p} -> {FORBIDDEN[p]})"
        for q, sig in SIGNATURES
        for p in sig.parameters
        if p in FORBIDDEN
    ]
    assert not bad, "use the project's vocabulary: " + ", ".join(bad)


def test_n_is_only_an_energy_correlator_order():
    bad = [
        q for q, sig in SIGNATURES if "n" in sig.parameters and not q.startswith(EEC_ORDER_MODULES)
    ]
    assert not bad, f"'n' as a number of jets: use n_jets ({bad})"


def test_seeds_are_int_or_none():
    bad = []
    for q, sig in SIGNATURES:
        param = sig.parameters.get("seed")
        if param is None or q.rsplit(".", 1)[-1].startswith("check_"):
            continue  # argument checkers take anything and refuse what is not an int
        annotation = str(param.annotation)
        if "int" not in annotation or "Generator" in annotation:
            bad.append(f"{q}: seed: {annotation}")
    assert not bad, "seed must be an int (or None), never a torch.Generator: " + "; ".join(bad)


def test_configs_have_one_name_per_setting():
    from hypervae._config import Config

    names = {
        f"{cls.__module__}.{cls.__name__}.{f}"
        for cls in _all_subclasses(Config)
        for f in cls.__dataclass_fields__
        if f in {"epochs", "n_max", "n_particles", "normalise", "optimiser"}
    }
    assert not names


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("hypervae"):
            out |= {sub} | _all_subclasses(sub)
    return out


def test_jet_type_parameter_name():
    bad = [
        q
        for q, sig in SIGNATURES
        for p in sig.parameters
        if p in {"jettype", "types", "type_code", "jet_code"}
    ]
    assert not bad


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from hypervae.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    msg = "no sub-commands"
    raise AssertionError(msg)


@pytest.fixture(scope="module")
def commands() -> dict[str, argparse.ArgumentParser]:
    return _subparsers()


def test_outputs_are_dash_o_output(commands):
    for name, parser in commands.items():
        for action in parser._actions:
            dests = set(action.option_strings)
            if action.help == argparse.SUPPRESS:
                continue  # a hidden deprecated alias
            if action.dest == "output" or dests & {"-o", "--output"}:
                assert {"-o", "--output"} <= dests, f"hypervae {name}: {sorted(dests)}"
            assert not dests & {"--save-dir"}, (
                f"hypervae {name}: {sorted(dests)} is not the -o/--output vocabulary"
            )


def test_config_is_the_run_file(commands):
    for name, parser in commands.items():
        for action in parser._actions:
            if "--config" in action.option_strings:
                assert "run file" in (action.help or ""), (
                    f"hypervae {name} --config must be the run file: {action.help!r}"
                )
