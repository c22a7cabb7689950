"""Suspicious-flow supervision beyond the dbt models: supervisors' dispositions of flow alerts
(:mod:`.dispose`), and the import of outside transfer data as landing submissions (:mod:`.importer`,
with the identifiers and placeholders it writes in :mod:`.identifiers`)."""
