"""Asset URIs linking the DAGs (data-aware scheduling). Cheap to import: DAG files use it."""

from __future__ import annotations

from include.registry.datasets import DATASETS
from include.registry.feeds import FEEDS as EXTERNAL_FEEDS


def raw_asset_uri(dataset: str) -> str:
    return f"supervision://warehouse/raw/{dataset}"


RAW_ASSET_URIS = {name: raw_asset_uri(name) for name in DATASETS}
MARTS_ASSET_URI = "supervision://warehouse/marts"


def raw_ext_asset_uri(feed: str) -> str:
    return f"supervision://warehouse/raw_ext/{feed}"


#: One Asset per external feed (its raw_ext tables, history and, for news/advert_leads, their signals).
RAW_EXT_ASSET_URIS = {name: raw_ext_asset_uri(name) for name in EXTERNAL_FEEDS}

# ml.risk_scores refreshed by score_risk (serving marts can schedule on it)
SCORES_ASSET_URI = "supervision://warehouse/ml/risk_scores"
# emitted by score_risk only when a feature drifted a lot (PSI > 0.25): triggers retrain_models
DRIFT_ASSET_URI = "supervision://warehouse/ml/large_drift"
