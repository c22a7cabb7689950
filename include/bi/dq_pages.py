"""Offline data-quality pages, one per submission, from `ops` (#15).

GX Data Docs need a CDN and are named by batch group; supervisors want one institution's submission. Here:
``$SUPERVISION_HOME/bi/dq_pages/<bureau>/<submission_id>.html`` (institution, period, version, status and
every failed rule with its masked examples) and an ``index.html`` per bureau, plain HTML with inline CSS,
every value HTML-escaped. Superset serves them to logged-in users of that bureau at ``/supervision/dq/``
(see superset_config.py), linked from the 数据质量 dashboard. Examples were masked by the pipeline when
the rule ran (include/ingest/quality.py); nothing here reads raw data.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

from include.config import StatePaths

STYLE = """body{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.failed{color:#b00020;font-weight:bold}.ok{color:#1b5e20}.muted{color:#777}"""

SUBMISSIONS = """
select s.submission_id, s.institution_code, s.period, s.version, s.submitted_at,
       coalesce(i.institution_name, s.institution_code) as institution_name,
       coalesce(i.bureau_code, %(hq)s) as bureau_code
from ops.submission as s
left join (select distinct on (institution_code) institution_code, institution_name, bureau_code
           from marts_quality.dq_scorecard order by institution_code, period desc) as i
  on i.institution_code = s.institution_code
order by s.institution_code, s.period, s.version
"""
BATCHES = """
select b.submission_id, b.batch_id, b.dataset, b.file_name, b.status, b.declared_rows, b.loaded_rows
from ops.batch as b order by b.submission_id, b.dataset, b.batch_id
"""
FAILURES = """
select b.submission_id, r.batch_id, r.rule_name, r.severity, r.unexpected_count, r.element_count, r.examples
from ops.dq_result as r join ops.batch as b using (batch_id)
where not r.success order by b.submission_id, r.batch_id, r.severity, r.rule_name
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")


def render_submission(sub: dict, batches: list[dict], failures: list[dict]) -> str:
    """One submission's page. Every value is escaped (examples come from institutions' files)."""
    status = "failed" if failures else "ok"
    verdict = (f'<p class="failed">{len(failures)} 条规则未通过 / rules failed</p>' if failures
               else '<p class="ok">全部规则通过 / every rule passed</p>')
    rows = "".join(f"<tr><td>{_e(b['dataset'])}</td><td>{_e(b['file_name'])}</td><td>{_e(b['status'])}</td>"
                   f"<td>{_e(b['declared_rows'])}</td><td>{_e(b['loaded_rows'])}</td></tr>" for b in batches)
    fails = []
    for f in failures:
        examples = f["examples"] if isinstance(f["examples"], list) else json.loads(f["examples"] or "[]")
        ex = "<br>".join(f"行 line {_e(x.get('line'))} · {_e(x.get('column'))} = {_e(x.get('value'))}"
                         for x in examples) or '<span class="muted">—</span>'
        fails.append(f"<tr><td>{_e(f['rule_name'])}</td><td>{_e(f['severity'])}</td>"
                     f"<td>{_e(f['unexpected_count'])} / {_e(f['element_count'])}</td><td>{ex}</td></tr>")
    failed_table = ("<h2>未通过的规则 Failed rules</h2><table><tr><th>规则 rule</th><th>级别 severity</th>"
                    "<th>不符/总数 unexpected</th><th>示例（已脱敏）examples (masked)</th></tr>"
                    + "".join(fails) + "</table>") if fails else ""
    title = f"{sub['institution_name']} {sub['period']} v{sub['version']}"
    body = (f'<p><a href="index.html">← 本局全部报送 all submissions</a></p><h1>{_e(title)}</h1>'
            f"<table><tr><th>机构 institution</th><td>{_e(sub['institution_name'])} "
            f"({_e(sub['institution_code'])})</td></tr>"
            f"<tr><th>报告期 period</th><td>{_e(sub['period'])}</td></tr>"
            f"<tr><th>版本 version</th><td>{_e(sub['version'])}</td></tr>"
            f"<tr><th>报送编号 submission</th><td>{_e(sub['submission_id'])}</td></tr>"
            f"<tr><th>报送时间 submitted</th><td>{_e(sub['submitted_at'])}</td></tr>"
            f"<tr><th>状态 status</th><td class=\"{status}\">{_e(status)}</td></tr></table>{verdict}"
            "<h2>文件 Files</h2><table><tr><th>数据集 dataset</th><th>文件 file</th><th>状态 status</th>"
            f"<th>申报行数 declared</th><th>入库行数 loaded</th></tr>{rows}</table>{failed_table}")
    return _page(title, body)


def render_index(bureau: str, entries: list[tuple[dict, int]]) -> str:
    rows = "".join(
        f"<tr><td>{_e(s['institution_name'])}</td><td>{_e(s['period'])}</td><td>{_e(s['version'])}</td>"
        f"<td class=\"{'failed' if n else 'ok'}\">{_e(n)}</td>"
        f"<td><a href=\"{_e(s['submission_id'])}.html\">{_e(s['submission_id'])}</a></td></tr>" for s, n in entries)
    body = (f"<h1>数据质量报送页 Data-quality pages · {_e(bureau)}</h1><table><tr><th>机构 institution</th>"
            "<th>报告期 period</th><th>版本 version</th><th>未通过规则 failed rules</th><th>报送 submission</th></tr>"
            f"{rows}</table>")
    return _page(f"DQ {bureau}", body)


def generate(state: StatePaths, db_url: str, hq: str = "HQ") -> dict[str, int]:
    """Write every page (replacing the previous set); return pages per bureau."""
    import psycopg
    from psycopg.rows import dict_row

    from include.warehouse.connection import libpq_url

    with psycopg.connect(libpq_url(db_url), row_factory=dict_row) as conn:
        subs = conn.execute(SUBMISSIONS, {"hq": hq}).fetchall()
        batches, failures = defaultdict(list), defaultdict(list)
        for b in conn.execute(BATCHES):
            batches[b["submission_id"]].append(b)
        for f in conn.execute(FAILURES):
            failures[f["submission_id"]].append(f)
    out = state.home / "bi" / "dq_pages"
    tmp = out.with_name("dq_pages.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True, mode=0o700)
    by_bureau: dict[str, list] = defaultdict(list)
    for s in subs:
        d = tmp / s["bureau_code"]
        d.mkdir(exist_ok=True, mode=0o700)
        page = d / f"{s['submission_id']}.html"
        page.write_text(render_submission(s, batches[s["submission_id"]], failures[s["submission_id"]]),
                        encoding="utf-8")
        os.chmod(page, 0o600)
        by_bureau[s["bureau_code"]].append((s, len(failures[s["submission_id"]])))
    for bureau, entries in by_bureau.items():
        index = tmp / bureau / "index.html"
        index.write_text(render_index(bureau, entries), encoding="utf-8")
        os.chmod(index, 0o600)
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return {b: len(e) for b, e in by_bureau.items()}


def pages_dir(state: StatePaths) -> Path:
    return state.home / "bi" / "dq_pages"
