"""The supervisors' BI tool: Apache Superset in a virtualenv of its own, provisioned from `bi/` (#15)."""
