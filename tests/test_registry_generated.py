"""Everything generated from the dataset registry is committed as the generator writes it."""

from __future__ import annotations

from include.registry import dbt_sources
from include.registry.generate import generate


def test_no_generated_file_drifted_from_the_registry():
    assert generate(check=True) == [], "run `supervision registry generate` and commit the result"


def test_a_hand_edit_is_reported_as_drift(monkeypatch):
    monkeypatch.setattr(dbt_sources, "render", lambda: "# edited by hand\n")
    assert generate(check=True) == [str(dbt_sources.SOURCES_FILE)]
