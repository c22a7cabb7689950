"""Asset URIs linking the DAGs (data-aware scheduling). Cheap to import: DAG files use it."""

from __future__ import annotations

from include.datasets import DATASETS


def raw_asset_uri(dataset: str) -> str:
    return f"supervision://warehouse/raw/{dataset}"


RAW_ASSET_URIS = {name: raw_asset_uri(name) for name in DATASETS}
MARTS_ASSET_URI = "supervision://warehouse/marts"
