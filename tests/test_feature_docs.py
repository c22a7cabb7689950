"""Feature descriptions are written once, as dbt docs blocks (``_features__docs.md``): the feature marts'
column documentation points at them, the model panels of ``ml/presets.py`` read their short names from
them, and every feature of a panel has one. The candidate models are named once (``ml.candidates``)."""

from __future__ import annotations

import re

import pytest
import yaml

from ml import feature_docs
from ml.presets import PRESETS

MODELS_YML = feature_docs.DOCS_FILE.with_name("_features__models.yml")
DOC_REF = re.compile(r"""^\{\{\s*doc\(["'](\w+)["']\)\s*\}\}$""")


def _column_docs() -> dict[tuple[str, str], str]:
    """(model, column) -> the docs block its description names, for every column of the feature marts."""
    out = {}
    for model in yaml.safe_load(MODELS_YML.read_text(encoding="utf-8"))["models"]:
        for col in model.get("columns", []):
            m = DOC_REF.match(col.get("description", ""))
            assert m, f"{MODELS_YML.name}: {model['name']}.{col['name']} is not described by a docs block"
            out[(model["name"], col["name"])] = m.group(1)
    return out


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_feature_of_a_panel_has_a_docs_block_with_a_zh_en_name(preset):
    docs = feature_docs.descriptions()
    spec = PRESETS[preset].spec
    for col in (*spec.features, spec.baseline, *spec.extra):
        assert col in docs, f"{preset}: {col} has no docs block"
        zh, en = feature_docs.short_name(docs[col])
        assert re.search(r"[\u4e00-\u9fff]", zh) and re.search(r"[A-Za-z]", en), (col, zh, en)
    # the baseline too: when the calibrated rule scores (ml.dag_tasks.rule_instead), its reasons name it
    assert PRESETS[preset].texts == {f: feature_docs.short_name(docs[f]) for f in (*spec.features, spec.baseline)}


def test_the_mart_columns_use_the_docs_blocks_and_every_block_is_used():
    used = _column_docs()
    blocks = {feature_docs.PREFIX + name for name in feature_docs.descriptions()}
    assert set(used.values()) <= blocks, set(used.values()) - blocks
    assert blocks <= set(used.values()), blocks - set(used.values())
    # the training panels carry the features' own documentation
    for model, col in used:
        if model.endswith("_training") and (model.replace("_training", "_features"), col) in used:
            assert used[(model, col)] == used[(model.replace("_training", "_features"), col)], (model, col)


def test_a_missing_or_malformed_doc_is_named(tmp_path):
    docs = tmp_path / "docs.md"
    docs.write_text("{% docs features__a %}\n甲 / A\n\nwhat A is\n{% enddocs %}\n"
                    "{% docs features__b %}\nno separator\n{% enddocs %}\n", encoding="utf-8")
    assert feature_docs.feature_texts(("a",), docs) == {"a": ("甲", "A")}
    with pytest.raises(KeyError, match="features__<column> for c"):
        feature_docs.feature_texts(("a", "c"), docs)
    with pytest.raises(ValueError, match="no separator"):
        feature_docs.feature_texts(("b",), docs)


def test_the_candidates_are_named_once():
    from ml import cli, models
    from ml.candidates import KINDS

    assert tuple(models.CANDIDATES) == KINDS
    train = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["train"]._actions
                 if a.dest == "candidates")
    assert train.default == ",".join(KINDS)


@pytest.mark.slow
def test_the_warehouse_columns_carry_the_docs_blocks(built_warehouse):
    """dbt renders the blocks into the persisted column comments of the feature marts."""
    docs = feature_docs.descriptions()
    with built_warehouse.connect() as conn:
        rows = conn.execute(
            "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a "
            "where a.attrelid = 'marts_features.firm_month_features'::regclass and a.attnum > 0 "
            "and not a.attisdropped").fetchall()
    comments = dict(rows)
    assert comments["red_flag_count"] == docs["red_flag_count"]
    assert all(comments[c] == docs[c] for c in PRESETS["firm"].spec.features)
