"""dbt's source YAML for the submissions, derived from the dataset registry.

``supervision registry generate`` rewrites ``dbt_project/models/staging/submissions/
_submissions__sources.yml``; a test fails if the committed file differs from what the registry says,
so the registry stays the one place a column is added.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from include.config import DBT_PROJECT_DIR
from include.registry.datasets import DATASETS

SOURCES_FILE = DBT_PROJECT_DIR / "models" / "staging" / "submissions" / "_submissions__sources.yml"
HEADER = "# GENERATED from include/registry/datasets.py by `supervision registry generate`. Do not edit by hand.\n"


def sources_dict() -> dict:
    tables = []
    for ds in DATASETS.values():
        cols = [{"name": c.name, "description": f"{c.zh} / {c.en}",
                 **({"data_tests": ["not_null"]} if not c.nullable else {})}
                for c in ds.columns]
        cols += [
            {"name": "_batch_id", "description": "批次号 / Batch id (ops.batch)", "data_tests": ["not_null"]},
            {"name": "_file_sha256", "description": "来源文件SHA-256 / sha256 of the source file"},
            {"name": "_line", "description": "来源文件中的记录序号 / Record number in the source file"},
        ]
        tables.append({"name": ds.name, "description": f"{ds.zh} / {ds.en}", "columns": cols})
    return {
        "version": 2,
        "sources": [
            {
                "name": "submissions",
                "description": "机构报送数据（已通过质量校验）/ Accepted institution submissions (append-only, "
                               "every version kept; staging picks the latest accepted one).",
                "schema": "raw",
                "loaded_at_field": "_loaded_at",
                "tables": tables,
            },
            {
                "name": "ops",
                "description": "报送日志 / Submission log written by the loader",
                "schema": "ops",
                "tables": [
                    {"name": "submission", "description": "每次报送 / One row per received submission"},
                    {"name": "batch", "description": "每个数据文件的处理状态 / Lifecycle of every data file"},
                    {"name": "institution_register",
                     "description": "准入报送机构 / Institutions the regulator admitted to report, with the bureau "
                                    "supervising those that have no institution record of their own "
                                    "(`supervision institutions admit CODE --bureau ZJ`)"},
                    {"name": "dq_result", "description": "质量规则结果 / Quality rule results per batch"},
                    {"name": "dq_summary",
                     "description": "报送质量汇总 / Data-quality summary per institution and period (timeliness, "
                                    "versions needed), rebuilt by the loader after each ingest run"},
                ],
            },
        ],
    }


def render() -> str:
    return HEADER + yaml.safe_dump(sources_dict(), allow_unicode=True, sort_keys=False, width=110)


def write(path: Path = SOURCES_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path
