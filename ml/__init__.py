"""Early-warning models: features, training, registry, scoring (issue #7 builds this package).

The DAGs that will use it (`score_risk`, `retrain_models`) are scheduled on the Asset
``supervision://warehouse/marts`` emitted by ``build_warehouse``.
"""
