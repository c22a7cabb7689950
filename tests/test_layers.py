"""The import-linter contracts (pyproject.toml) hold, and a deliberate violation breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = str(Path(sys.executable).parent / "lint-imports")


def _tree(tmp: Path) -> Path:
    for pkg in ("include", "ml", "simulator", "dags"):
        shutil.copytree(ROOT / pkg, tmp / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.md"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([LINT, "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def test_the_contracts_hold_and_a_violation_breaks_them(tmp_path):
    tree = _tree(tmp_path)
    clean = _lint(tree)
    assert clean.returncode == 0, clean.stdout[-3000:]
    # the warehouse importing ingest (a layer above it), and product code importing the simulator
    with open(tree / "include" / "warehouse" / "connection.py", "a") as f:
        f.write("\nimport include.ingest.loader  # noqa\nimport simulator  # noqa\n")
    broken = _lint(tree)
    assert broken.returncode != 0
    assert "Layers" in broken.stdout and "BROKEN" in broken.stdout
    assert "never imports the simulator" in broken.stdout
