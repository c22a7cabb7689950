"""The dataset reference of the landing contract, rendered from the registry (so it cannot drift).

``supervision registry generate`` rewrites the block between the markers in
``docs/landing-contract.md``; its drift check fails when the committed block differs from :func:`render`.
"""

from __future__ import annotations

from pathlib import Path

from include.registry.datasets import DATASETS, REGULATOR_CODE, Dataset

README = Path(__file__).resolve().parents[2] / "docs" / "landing-contract.md"
BEGIN = "<!-- BEGIN GENERATED DATASETS (supervision registry generate) -->"
END = "<!-- END GENERATED DATASETS -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_dataset(ds: Dataset) -> str:
    who = f"submitted by `{REGULATOR_CODE}`" if ds.submitter == "regulator" else "submitted by each institution"
    lines = [
        f"#### `{ds.name}` {ds.zh}",
        "",
        f"{_cell(ds.en)} *{ds.family}, per {ds.grain}, {who}; key ({', '.join(ds.key)}); period column "
        f"`{ds.period_column}`.*",
        "",
        "| column | type | null | pii | description |",
        "|---|---|---|---|---|",
    ]
    for c in ds.columns:
        lines.append(f"| `{c.name}` | {c.pg_type} | {'yes' if c.nullable else 'no'} | {c.pii or ''} | "
                     f"{_cell(c.zh)} / {_cell(c.en)} |")
    rules = ", ".join(f"`{r.name}`" + (" (warning)" if r.severity == "warning" else "") for r in ds.rules)
    lines += ["", f"Rules: {rules}.", ""]
    return "\n".join(lines)


def render() -> str:
    """The generated block (markers included)."""
    body = "\n".join(render_dataset(ds) for ds in DATASETS.values())
    return f"{BEGIN}\n\n{body}\n{END}"


def current_block(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def write(path: Path = README) -> Path:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(current_block(text), render()), encoding="utf-8")
    return path


