"""Lazy imports: the torch-free layers import without torch (issue 13, item 6).

pyarrow is not in the list: awkward (2.14) imports it when awkward itself is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torch_geometric", "scipy", "lgatr")


def _modules_after(statement: str) -> dict[str, bool]:
    """Which heavy modules a fresh interpreter holds after ``statement``."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "statement",
    [
        "import hypervae",
        "import hypervae.physics",
        "import hypervae.datasets",
        "import hypervae.physics, hypervae.datasets",
        "import hypervae as hv; hv.datasets.load_jets; hv.physics.eec",
    ],
)
def test_torch_free_layers_do_not_import_torch(statement: str) -> None:
    loaded = _modules_after(statement)
    assert not any(loaded.values()), f"{statement!r} imported {[m for m, v in loaded.items() if v]}"


@pytest.mark.slow  # over 10 s on 2 cores
def test_lazy_attributes_resolve_and_are_listed() -> None:
    code = (
        "import sys, hypervae as hv\n"
        "assert 'torch' not in sys.modules\n"
        "assert set(hv.__all__) <= set(dir(hv))\n"
        "g = hv.graph\n"
        "assert 'torch' in sys.modules and g is sys.modules['hypervae.graph']\n"
        "assert hv.HyperVAE.__name__ == 'HyperVAE' and hv.HyperVAEConfig.__name__ == 'HyperVAEConfig'\n"
        "from hypervae import HyperVAE, evaluation\n"
        "try:\n"
        "    hv.nope\n"
        "except AttributeError as e:\n"
        "    assert 'nope' in str(e)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
