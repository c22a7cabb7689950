"""The candidate models every retrain trains, named once. Cheap to import (no scikit-learn): the
``retrain_models`` DAG file reads it while it is parsed, ``ml.dag_tasks`` and ``python -m ml train``
default to it. ``ml.models.CANDIDATES`` builds each of them (tests/test_ml_candidates.py ties the two).
"""

KINDS = ("logreg", "gbm")
