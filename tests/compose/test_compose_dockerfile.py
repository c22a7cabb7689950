"""The Dockerfile the Airflow services are built from: base image matching the Airflow pin,
requirements installed, project folders copied."""

from __future__ import annotations

import re

import pytest

from tests.compose.support import CODE_MOUNTS, DOCKERFILE, REQUIREMENTS


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            rows.append((op.upper(), rest.strip()))
    return rows


def _pinned(package: str) -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        m = re.fullmatch(rf"{re.escape(package)}==([\w.]+)\s*(#.*)?", line.strip())
        if m:
            return m.group(1)
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_dockerfile_base_image_matches_the_airflow_pin():
    froms = [rest for op, rest in _dockerfile_instructions() if op == "FROM"]
    assert len(froms) == 1
    m = re.fullmatch(r"apache/airflow:(?P<airflow>[\w.]+)-python(?P<python>[\d.]+)", froms[0])
    assert m, froms[0]
    assert m.group("airflow") == _pinned("apache-airflow")
    assert m.group("python") == "3.11"


def test_dockerfile_installs_requirements_txt():
    rows = _dockerfile_instructions()
    copy_at = next(i for i, (op, rest) in enumerate(rows) if op == "COPY" and "requirements.txt" in rest)
    dest = rows[copy_at][1].split()[-1]
    installs = [
        i
        for i, (op, rest) in enumerate(rows)
        if op == "RUN" and re.search(r"pip install\b.*\s-r\s+" + re.escape(dest), rest)
    ]
    assert installs and installs[0] > copy_at


@pytest.mark.parametrize("folder", sorted(CODE_MOUNTS))
def test_dockerfile_copies_project_folder(folder):
    copies = [rest.split() for op, rest in _dockerfile_instructions() if op == "COPY"]
    assert any(args[-2].rstrip("/") == folder and args[-1].rstrip("/") == CODE_MOUNTS[folder] for args in copies), (
        f"Dockerfile does not COPY {folder}/ to {CODE_MOUNTS[folder]}"
    )
