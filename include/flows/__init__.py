"""Suspicious-flow supervision beyond the dbt models: supervisors' dispositions of flow alerts
(:mod:`.dispose`)."""
