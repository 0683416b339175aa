"""The README's commands and the files they name stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from hypervae.cli import build_parser
from hypervae.training import load_run_config

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.DOTALL)
    test_command = next(c for c in commands if "pytest" in c)
    ci_lines = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line
    ]
    assert ci_lines == [test_command]
    # CI lints and type-checks before testing (issue 13 item 9)
    assert "ruff check ." in test_command
    assert "ruff format --check ." in test_command
    assert "&& mypy &&" in test_command


def test_readme_pipeline_uses_real_commands_and_files():
    readme = (ROOT / "README.md").read_text()
    commands = [line.split()[1] for line in readme.splitlines() if line.startswith("hypervae ")]
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"build-graphs", "validate", "train", "generate", "evaluate"} <= set(commands)
    assert set(commands) <= subcommands
    config = load_run_config(ROOT / "examples" / "quick.yaml")
    assert config.model.max_particles == 30
