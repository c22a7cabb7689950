"""int_entities__accounts_latest is incremental by account: resubmissions and customer changes.

The built tiny/11 world (``built_copy``) gets two resubmissions through a landing zone of its own:
institution X's last month again (version 2) without one account that X reported in no other month and with
another account's status changed (the version-1 batch is superseded), and institution Y's corporate customers
of one month again with a firm renamed whose latest record is that month (no account row changes: only the
holder does). An incremental `dbt run` of the model must then hold exactly what a `--full-refresh` build holds
(EXCEPT ALL both ways, the build watermark aside), the vanished account must be gone, the renamed holder's
accounts must carry the new name, and every row of the other institutions must be untouched (physical row
positions unchanged: they were not rewritten).

Views (macros/materializations/view.sql): a build leaves an unchanged staging view alone (same oid), and
re-creates one whose comment or definition was edited by hand, back to the model's.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

MODEL = "int_entities__accounts_latest"
RELATION = f"intermediate.{MODEL}"


def _read(manifest: Path, dataset: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the manifest's file of ``dataset`` (its encoding, delimiter, compression)."""
    entry = next(f for f in json.loads(manifest.read_text(encoding="utf-8"))["files"] if f["dataset"] == dataset)
    data = (manifest.parent / entry["file"]).read_bytes()
    if entry["compression"] == "gzip":
        data = gzip.decompress(data)
    rows = list(csv.reader(io.StringIO(data.decode(entry["encoding"])), delimiter=entry["delimiter"]))
    return rows[0], rows[1:]


def _resubmit(source: Path, landing: Path, dataset: str, header: list[str], rows: list[list[str]]) -> Path:
    """Version 2 of the submission whose manifest is ``source``, with only ``dataset``'s file, these rows."""
    old = json.loads(source.read_text(encoding="utf-8"))
    sub_id = old["submission_id"].rsplit("-v", 1)[0] + "-v2"
    folder = landing / old["institution_code"] / old["period"] / sub_id
    folder.mkdir(parents=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    raw = buf.getvalue().encode("utf-8")
    entry = {"dataset": dataset, "file": f"{dataset}.csv", "encoding": "utf-8", "delimiter": ",",
             "compression": None, "rows": len(rows), "sha256": hashlib.sha256(raw).hexdigest()}
    (folder / entry["file"]).write_bytes(raw)
    manifest = {**old, "submission_id": sub_id, "version": 2, "files": [entry]}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder / "manifest.json"


def _submissions(landing: Path, code: str, loaded: set[str]) -> list[Path]:
    """The institution's version-1 manifests this database loaded, by period (the landing zone is the
    session's: test_warehouse_incremental simulates later months into it, which this copy never saw)."""
    return sorted(m for m in landing.glob(f"{code}/*/{code}-*-v1/manifest.json") if m.parent.name in loaded)


def _has(manifest: Path, dataset: str) -> bool:
    return any(f["dataset"] == dataset for f in json.loads(manifest.read_text(encoding="utf-8"))["files"])


def connect():
    """The module's database (``built_copy``'s, ``SUPERVISION_DATABASE_URL`` while the module runs), autocommit."""
    from include.warehouse.connection import libpq_url

    return psycopg.connect(libpq_url(os.environ["SUPERVISION_DATABASE_URL"]), autocommit=True)


def _loaded() -> set[str]:
    """The submission ids this database holds."""
    with connect() as conn:
        return {r[0] for r in conn.execute("select submission_id from ops.submission")}


def _positions(conn, where: str, relation: str = RELATION) -> tuple[int, str]:
    """Count and digest of the physical positions of ``relation``'s rows ``where``: a rewritten row moves."""
    return conn.execute(f"select count(*), md5(coalesce(string_agg(ctid::text, ',' order by ctid), '')) "
                        f"from {relation} where {where}").fetchone()


@pytest.fixture(scope="module")
def resubmitted(built_copy):
    from include.cli.warehouse import _dbt
    from include.ingest.loader import ingest_manifests
    from include.warehouse.connection import role_url

    state = built_copy.state

    loaded = _loaded()
    codes = sorted(p.name for p in state.landing.iterdir()
                   if p.is_dir() and _submissions(state.landing, p.name, loaded))
    x, y = codes[0], codes[1]

    # X: its last month without an account reported only then, and another account frozen
    x_manifests = _submissions(state.landing, x, loaded)
    header, rows = _read(x_manifests[-1], "account")
    no, status = header.index("account_no"), header.index("status")
    earlier = {r[no] for m in x_manifests[:-1] if _has(m, "account") for r in _read(m, "account")[1]}
    gone = next(r for r in rows if r[no] not in earlier)
    frozen = next(r for r in rows if r is not gone and r[status] == "正常")
    kept = [r if r is not frozen else [*r[:status], "冻结", *r[status + 1:]] for r in rows if r is not gone]
    x_v2 = _resubmit(x_manifests[-1], Path(tempfile.mkdtemp(prefix="sv-acc-")), "account", header, kept)

    # Y: a month's corporate customers again, one firm renamed that holds accounts and whose latest record
    # is that month
    with connect() as conn:
        holders = {r[0] for r in conn.execute(
            f"select customer_id from {RELATION} where institution_code = %s and customer_type = '对公'", (y,))}
    later: set[str] = set()
    chosen = None
    for m in reversed(_submissions(state.landing, y, loaded)):
        if not _has(m, "customer_corporate"):
            continue
        header_c, rows_c = _read(m, "customer_corporate")
        cid = header_c.index("customer_id")
        fresh = [r for r in rows_c if r[cid] not in later and r[cid] in holders]
        if fresh and chosen is None:
            chosen = (m, header_c, rows_c, fresh[0])
        later |= {r[cid] for r in rows_c}
    assert chosen is not None, "no corporate holder of accounts in the tiny world"
    y_source, header_c, rows_c, renamed = chosen
    name = header_c.index("name")
    new_name = renamed[name] + "（更名）"
    y_rows = [r if r is not renamed else [*r[:name], new_name, *r[name + 1:]] for r in rows_c]
    y_v2 = _resubmit(y_source, x_v2.parents[3], "customer_corporate", header_c, y_rows)

    out: dict = {"x": x, "y": y, "new_name": new_name}
    try:
        with connect() as conn:
            out["holder_accounts"] = conn.execute(
                f"select count(*) from {RELATION} where institution_code = %s and customer_id = %s",
                (y, renamed[header_c.index("customer_id")])).fetchone()[0]
            out["x_before"] = conn.execute(
                f"select count(*), count(*) filter (where status = '冻结') from {RELATION} where institution_code = %s",
                (x,)).fetchone()
            others = f"institution_code not in ('{x}', '{y}')"
            out["others_before"] = _positions(conn, others)
        outcomes = ingest_manifests(role_url("loader", state), [x_v2, y_v2], state)
        out["statuses"] = sorted(o.status for o in outcomes)
        out["reasons"] = [o.reason for o in outcomes if o.status != "accepted"]
        proc = _dbt(["run", "--select", MODEL], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            out["others_after"] = _positions(conn, others)
            out["x_after"] = conn.execute(
                f"select count(*), count(*) filter (where status = '冻结') from {RELATION} where institution_code = %s",
                (x,)).fetchone()
            out["renamed_accounts"] = conn.execute(
                f"select count(*) from {RELATION} where institution_code = %s and holder_firm_name = %s",
                (y, new_name)).fetchone()[0]
            out["superseded_rows"] = conn.execute(
                f"select count(*) from {RELATION} as a join ops.batch as b on b.batch_id = a.source_batch_id "
                "where b.status <> 'accepted'").fetchone()[0]
            conn.execute("create schema accounts_incremental")
            conn.execute(f"create table accounts_incremental.rows as select * from {RELATION}")
        proc = _dbt(["run", "--full-refresh", "--select", MODEL], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        with connect() as conn:
            cols = ", ".join(r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'intermediate' "
                "and table_name = %s and column_name not like 'built\\_%%'", (MODEL,)))
            out["only_incremental"], out["only_full"] = (conn.execute(
                f"select count(*) from (select {cols} from {a} except all select {cols} from {b}) d").fetchone()[0]
                for a, b in (("accounts_incremental.rows", RELATION), (RELATION, "accounts_incremental.rows")))
        yield out
    finally:
        shutil.rmtree(x_v2.parents[3], ignore_errors=True)


def test_both_resubmissions_are_accepted(resubmitted):
    assert resubmitted["statuses"] == ["accepted", "accepted"], resubmitted["reasons"]


def test_a_resubmission_drops_the_account_it_no_longer_has_and_updates_the_other(resubmitted):
    (n_before, frozen_before), (n_after, frozen_after) = resubmitted["x_before"], resubmitted["x_after"]
    assert n_after == n_before - 1
    assert frozen_after == frozen_before + 1
    assert resubmitted["superseded_rows"] == 0


def test_a_renamed_holder_renames_its_accounts_without_an_account_row(resubmitted):
    assert resubmitted["holder_accounts"] > 0
    assert resubmitted["renamed_accounts"] == resubmitted["holder_accounts"]


def test_the_incremental_build_equals_a_full_refresh_and_leaves_other_institutions_alone(resubmitted):
    assert resubmitted["only_incremental"] == 0 and resubmitted["only_full"] == 0
    before, after = resubmitted["others_before"], resubmitted["others_after"]
    assert before[0] > 0 and after == before


VIEW = "staging.stg_submissions__accounts"


@pytest.fixture(scope="module")
def view_builds(built_copy):
    """A staging view's identity (oid), definition and comment across builds: unchanged, then its comment
    and its definition changed behind dbt's back, then --full-refresh."""
    from include.cli.warehouse import _dbt

    def state():
        with connect() as conn:
            return conn.execute(f"select '{VIEW}'::regclass::oid, pg_get_viewdef('{VIEW}'::regclass), "
                                f"obj_description('{VIEW}'::regclass, 'pg_class')").fetchone()

    def build(*flags: str):
        proc = _dbt(["run", *flags, "--select", VIEW.split(".")[1]], check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        return state()

    out = {"built": state(), "unchanged": build()}
    with connect() as conn:
        conn.execute(f"comment on view {VIEW} is 'edited by hand'")
    out["comment_edited"] = build()
    with connect() as conn:
        definition = conn.execute(f"select pg_get_viewdef('{VIEW}'::regclass)").fetchone()[0].rstrip().rstrip(";")
        conn.execute(f"create or replace view {VIEW} as {definition} limit 1")
    out["definition_edited"] = build()
    out["full_refresh"] = build("--full-refresh")
    return out


def test_an_unchanged_view_is_left_alone(view_builds):
    assert view_builds["unchanged"] == view_builds["built"]


def test_a_view_whose_comment_or_definition_differs_is_rebuilt(view_builds):
    oid, definition, comment = view_builds["built"]
    for step in ("comment_edited", "definition_edited"):
        assert view_builds[step][0] != oid, step  # re-created by dbt's own materialization
        assert view_builds[step][1:] == (definition, comment), step
    assert view_builds["full_refresh"][0] != view_builds["definition_edited"][0]
