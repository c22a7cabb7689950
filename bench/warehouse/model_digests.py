"""Row count and an order-free digest of every table and incremental model of $SUPERVISION_HOME's warehouse
(the build watermark columns `built_*` left out: which build wrote a row, not data; numerics without trailing
zeros: `max` over equal values of different display scale, 1.5 and 1.50, keeps either), one JSON document: two
states built from the same data by different code must print the same document.

    SUPERVISION_HOME=/tmp/state-a python -m bench.warehouse.model_digests > a.json

The digest of a table is the sum over its rows of the first 60 bits of the md5 of the row's text: the same
multiset of rows, the same sum, whatever the physical order (no sort of millions of rows).
"""

from __future__ import annotations

import json
import sys


def digests(conn, manifest) -> dict[str, list]:
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    relations = sorted(f'{n["schema"]}.{n["alias"]}' for n in nodes if n["resource_type"] == "model"
                       and n["config"]["materialized"] in ("table", "incremental"))
    out = {}
    for relation in relations:
        schema, name = relation.split(".")
        cols = conn.execute(
            "select column_name, data_type from information_schema.columns where table_schema = %s "
            "and table_name = %s and column_name not like 'built\\_%%' order by ordinal_position",
            (schema, name)).fetchall()
        row = ", ".join(f'trim_scale("{c}")' if kind == "numeric" else f'"{c}"' for c, kind in cols)
        count, total = conn.execute(
            f"select count(*), coalesce(sum(('x' || substr(md5(row({row})::text), 1, 15))::bit(60)::bigint), 0) "
            f"from {relation}").fetchone()
        out[relation] = [count, str(total)]
    return out


def main() -> int:
    import psycopg

    from include.config import paths
    from include.warehouse.connection import ensure_up, libpq_url, role_url

    ensure_up()
    with psycopg.connect(libpq_url(role_url("transformer")), autocommit=True) as conn:
        json.dump(digests(conn, paths().dbt_target / "manifest.json"), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
