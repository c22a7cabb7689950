"""Defect injection (issue #3 item 8): known problems planted at known places, with the outcome the
pipeline should reach for each.

A post-write pass over written submission folders. For each submission chosen, the folder is copied
to a temporary sibling, every defect of that submission is applied there (data files rewritten and the
manifest kept consistent, except where the inconsistency *is* the defect), and the result replaces the
original folder. Every defect is one row of ``ground_truth/defects.csv``:

``submission_id, institution_code, period, dataset, file, line, record, kind, expected_outcome,
expected_rule, detail``

``line`` is the physical line in the (decompressed) file, the header being line 1; ``record`` is the
data-record number the loader stores as ``_line`` (``line - 1``); both are empty for file-wide defects.

Expected outcomes: ``rejected`` (the loader refuses the file or the whole submission; the rule is the
one its message names: ``manifest_sha256``, ``manifest_row_count``, ``header_matches_registry``,
``file_present``, ``well_formed_<encoding>_csv``, ``gzip_integrity`` (message "corrupt gzip"), or for a
manifest that cannot be parsed ``manifest_json`` / ``manifest_dataset_known``), ``quarantined`` (a
critical registry rule, or a derived ``type_<column>`` rule, fails), ``accepted_with_warning`` (a
warning rule fails), ``accepted`` (nothing should fire: harmless oddities, and defects whose rules do
not exist yet: referential integrity and report/detail reconciliation wait for issue #4), ``late``
(accepted, but submitted after the deadline) and ``superseded`` (a later version replaces it).

Selection is deterministic per seed: each month draws from ``stream(seed, "defects", <month>)`` so a
month added later by ``simulate advance`` gets the same defects as if it had been generated at once;
``DefectConfig.min_each`` plants every enabled kind at least that many times over a run (from its own
stream) when a suitable place exists.

The package: :mod:`.catalogue` (the kinds, their outcomes and rules, :class:`DefectConfig`),
:mod:`.plan` (which defect goes where), :mod:`.injection` (applying a plan to the folders) with
:mod:`.rows`, :mod:`.files` and :mod:`.submission` (one module per level of kind) and
:mod:`.datafile` (a data file held as text), :mod:`.records` (``defects.csv``).
"""

from __future__ import annotations

from simulator.defects.catalogue import (
    ABSURD_AMOUNT,
    CATALOGUE,
    FILE_KINDS,
    FORMULA_TEXT,
    LOADER_RULES,
    MANIFEST_RULES,
    OUTCOMES,
    ROW_KINDS,
    SQL_TEXT,
    SUBMISSION_KINDS,
    UNKNOWN_DATASET,
    DefectConfig,
    DefectKind,
    catalogue_frame,
    resolve,
)
from simulator.defects.injection import inject
from simulator.defects.plan import plan_defects
from simulator.defects.records import DEFECT_COLUMNS, DEFECTS_CSV, read_defects, write_defects

__all__ = ["ABSURD_AMOUNT", "CATALOGUE", "DEFECTS_CSV", "DEFECT_COLUMNS", "FILE_KINDS", "FORMULA_TEXT", "LOADER_RULES",
           "MANIFEST_RULES", "OUTCOMES", "ROW_KINDS", "SQL_TEXT", "SUBMISSION_KINDS", "UNKNOWN_DATASET",
           "DefectConfig", "DefectKind", "catalogue_frame", "inject", "plan_defects", "read_defects", "resolve",
           "write_defects"]
