"""Feedback to the institution and the DQ summary (issue #4 item 8).

For every submission whose batches have all reached a terminal status, :func:`write_feedback` writes
``<state>/outbox/<institution>/<submission_id>/feedback.json`` (machine-readable) and ``feedback.md``
(readable), in Chinese and English: the submission's outcome, whether it was on time, and per file
its status and every failed rule with its severity, the file, line and column, the masked value
(values come from ``ops.dq_result``, masked before they were stored) and what to fix. Rewritten
on every run, so reruns are idempotent.

:func:`refresh_dq_summary` rebuilds ``ops.dq_summary`` (migration 005 documents its columns) for the
(institution, period) pairs a run touched.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from pathlib import Path

import psycopg

from include.config import StatePaths, paths
from include.registry.datasets import DATASETS, DUE_DAYS, DUE_TIMEZONE, REGULATOR_CODE
from include.registry.expectations import quality_rules

log = logging.getLogger(__name__)

#: Rules the loader itself applies before the quality gate: (English, Chinese).
LOADER_RULES: dict[str, tuple[str, str]] = {
    "file_present": ("Every file listed in the manifest must be delivered", "清单所列文件须全部报送"),
    "manifest_sha256": ("The file's sha256 must equal the manifest's (file damaged or cut short in transfer)",
                        "文件SHA-256须与报送清单一致（文件在传输中损坏或不完整）"),
    "manifest_row_count": ("The file must hold as many data rows as the manifest declares",
                           "文件数据行数须与报送清单声明一致"),
    "header_matches_registry": ("The header must list the dataset's columns in the registered order",
                                "表头须按登记顺序列出全部字段"),
    "gzip_integrity": ("A gzip file must be complete and uncorrupted", "gzip压缩文件须完整无损"),
    "well_formed_utf8_csv": ("Every line must be well-formed delimited UTF-8 text (quote fields containing "
                             "the delimiter)", "每行须为格式正确的UTF-8分隔文本（含分隔符的字段须加引号）"),
    "well_formed_gb18030_csv": ("Every line must be well-formed delimited GB18030 text",
                                "每行须为格式正确的GB18030分隔文本"),
}
#: What to fix, per rule kind: (English, Chinese).
FIX: dict[str, tuple[str, str]] = {
    "not_null": ("Fill in the mandatory field.", "补填必填字段。"),
    "unique": ("Report each key once; remove or merge the repeated records.",
               "每个主键仅报送一次，删除或合并重复记录。"),
    "between": ("Correct the value to the allowed range.", "将数值更正至允许范围内。"),
    "in_set": ("Use one of the registered codes.", "使用登记的代码值。"),
    "regex": ("Correct the format.", "更正格式。"),
    "uscc": ("Check the USCC against the business licence (18 characters, GB 32100-2015 check character).",
             "按营业执照核对统一社会信用代码（18位，GB 32100-2015校验码）。"),
    "resident_id": ("Check the resident ID against the ID card (18 characters, GB 11643 check digit).",
                    "按身份证核对身份证号（18位，GB 11643校验码）。"),
    "lei": ("Check the LEI (20 characters, ISO 17442 check digits).", "核对LEI编码（20位，ISO 17442校验位）。"),
    "period_match": ("Report only records of the submission's period.", "仅报送本报送期的记录。"),
    "column_pair_le": ("Correct whichever of the two related values is wrong.", "更正两个相关字段中有误的一项。"),
    "ratio_between": ("Check numerator and denominator.", "核对分子与分母。"),
    "references": ("Submit the referenced record (or correct the reference).", "补报被引用的记录（或更正引用）。"),
    "reconciles": ("Make the report agree with the detail it summarises, or resubmit the detail.",
                   "使报表与其汇总的明细数据一致，或重新报送明细。"),
    "type": ("Write the value in the column's type (numbers without units, dates as YYYY-MM-DD).",
             "按字段类型填写（数值不带单位，日期为YYYY-MM-DD）。"),
    "loader": ("Correct the file and resubmit it as a new version.", "更正文件后以新版本重新报送。"),
}
#: Submissions whose feedback is built per round of queries.
REPORT_CHUNK = 1000
_RULE_IN_REASON = re.compile(r"\(rule: (\w+)\)")
_LINE_IN_REASON = re.compile(r"\bline (\d+)")


def _rule_texts() -> dict[str, dict[str, tuple]]:
    """dataset -> rule name -> (kind, en, zh)."""
    return {name: {r.name: (r.kind, r.en, r.zh) for r in quality_rules(ds)} for name, ds in DATASETS.items()}


def _due(period: date, datasets: list[str]) -> int:
    return min((DUE_DAYS[DATASETS[d].grain] for d in datasets if d in DATASETS), default=DUE_DAYS["month"])


_TERMINAL = ("accepted", "quarantined", "rejected", "superseded", "duplicate")


def submission_report(conn: psycopg.Connection, submission_id: str) -> dict | None:
    """The feedback for one submission as a dict, or None while any of its batches is pending."""
    return submission_reports(conn, [submission_id]).get(submission_id)


def submission_reports(conn: psycopg.Connection, submission_ids: list[str]) -> dict[str, dict | None]:
    """:func:`submission_report` for many submissions in four queries (submissions, batches, due dates,
    failed rules), whatever their number. {submission_id: report, or None while pending}; unknown
    submissions are left out."""
    ids = list(dict.fromkeys(submission_ids))
    subs = {r[0]: r[1:] for r in conn.execute(
        "select submission_id, institution_code, period, version, submitted_at, received_at from ops.submission "
        "where submission_id = any(%s)", (ids,)).fetchall()}
    batches_of: dict[str, list[tuple]] = {sid: [] for sid in subs}
    for sid, *b in conn.execute(
            "select submission_id, batch_id, dataset, file_name, status, declared_rows, loaded_rows, "
            "detail->>'reason' from ops.batch where submission_id = any(%s) order by submission_id, dataset",
            (list(subs),)).fetchall():
        batches_of[sid].append(tuple(b))
    reports: dict[str, dict | None] = {sid: None for sid in subs}
    ready = [sid for sid in subs if not any(b[3] not in _TERMINAL for b in batches_of[sid])]
    if not ready:
        return reports
    due_days = {sid: _due(subs[sid][1], [b[1] for b in batches_of[sid]]) for sid in ready}
    # the regulator's own records have no deadline
    timed = [sid for sid in ready if subs[sid][3] and subs[sid][0] != REGULATOR_CODE]
    timings = {r[0]: (r[1], r[2]) for r in conn.execute(
        "select sid, (period + days) as due, (submitted_at at time zone %s)::date - period as lag "
        "from unnest(%s::text[], %s::date[], %s::int[], %s::timestamptz[]) as u(sid, period, days, submitted_at)",
        (DUE_TIMEZONE, timed, [subs[s][1] for s in timed], [due_days[s] for s in timed],
         [subs[s][3] for s in timed])).fetchall()} if timed else {}
    findings: dict[int, list[tuple]] = {b[0]: [] for sid in ready for b in batches_of[sid]}
    for bid, *f in conn.execute(
            "select batch_id, rule_name, severity, unexpected_count, element_count, examples from ops.dq_result "
            "where batch_id = any(%s) and not success order by batch_id, severity, rule_name",
            (list(findings),)).fetchall():
        findings[bid].append(tuple(f))
    texts = _rule_texts()
    for sid in ready:
        inst, period, version, submitted_at, received_at = subs[sid]
        reports[sid] = _report(sid, inst, period, version, submitted_at, received_at, batches_of[sid],
                               timings.get(sid), due_days[sid], findings, texts)
    return reports


def _report(submission_id: str, inst: str, period: date, version: int, submitted_at, received_at,
            batches: list[tuple], timing: tuple | None, due_days: int, findings: dict[int, list[tuple]],
            texts: dict) -> dict:
    late = bool(timing and timing[1] > due_days)
    files = []
    for bid, ds, file_name, status, declared, loaded, reason in batches:
        failed = []
        if reason and status == "rejected":
            m = _RULE_IN_REASON.search(reason)
            rule = m.group(1) if m else "loader"
            line = _LINE_IN_REASON.search(reason)
            en, zh = LOADER_RULES.get(rule, (reason, reason))
            failed.append({"rule": rule, "severity": "critical", "kind": "loader", "description_en": en,
                           "description_zh": zh, "message": reason, "count": None,
                           "examples": [{"line": int(line.group(1)), "column": None, "value": None}] if line else [],
                           "fix_en": FIX["loader"][0], "fix_zh": FIX["loader"][1]})
        for rule, severity, n, total, examples in findings[bid]:
            kind, en, zh = texts.get(ds, {}).get(rule, ("loader", rule, rule))
            fix_en, fix_zh = FIX.get(kind, FIX["loader"])
            failed.append({"rule": rule, "severity": severity, "kind": kind, "description_en": en,
                           "description_zh": zh, "count": n, "rows_checked": total,
                           # examples: line = data record number (the file's line minus the header)
                           "examples": [{**e, "file_line": e["line"] + 1} for e in examples],
                           "fix_en": fix_en, "fix_zh": fix_zh})
        files.append({"dataset": ds, "file": file_name, "batch_id": bid, "status": status,
                      "declared_rows": declared, "loaded_rows": loaded,
                      "note": reason if status in ("duplicate", "superseded") else None, "failed_rules": failed})
    statuses = {f["status"] for f in files}
    outcome = ("accepted" if statuses <= {"accepted", "duplicate", "superseded"} and files
               else "partially_accepted" if statuses & {"accepted"} else "not_accepted")
    return {
        "submission_id": submission_id, "institution_code": inst, "period": period.isoformat(),
        "version": version, "submitted_at": submitted_at.isoformat() if submitted_at else None,
        "received_at": received_at.isoformat(), "due_date": timing[0].isoformat() if timing else None,
        "late": late, "outcome": outcome,
        "warnings": sum(1 for f in files for r in f["failed_rules"] if r["severity"] == "warning"),
        "critical": sum(1 for f in files for r in f["failed_rules"] if r["severity"] == "critical"),
        "files": files,
    }


_OUTCOME_TEXT = {"accepted": ("accepted", "已接收"), "partially_accepted": ("partially accepted", "部分接收"),
                 "not_accepted": ("not accepted", "未接收")}
_STATUS_ZH = {"accepted": "已接收", "quarantined": "已隔离（严重规则未通过）", "rejected": "已拒收（文件校验未通过）",
              "superseded": "已被新版本替代", "duplicate": "重复文件（已接收过，不再加载）"}


def _cell(v) -> str:
    # neutralise spreadsheet formulas and Markdown table breaks in quoted values
    s = "" if v is None else str(v)
    if s[:1] in ("=", "+", "-", "@"):
        s = "'" + s
    return s.replace("|", "\\|").replace("\n", " ")


def render_markdown(r: dict) -> str:
    en, zh = _OUTCOME_TEXT[r["outcome"]]
    out = [f"# 数据报送反馈 / Submission feedback: {r['submission_id']}", "",
           f"- 机构 / Institution: {r['institution_code']}", f"- 报告期 / Period: {r['period']}",
           f"- 版本 / Version: {r['version']}",
           f"- 报送时间 / Submitted at: {r['submitted_at'] or '-'} (截止日期 / due: {r['due_date'] or '-'}"
           f"{'，逾期 / LATE' if r['late'] else ''})",
           f"- 结果 / Outcome: **{zh} / {en}** — 严重问题 / critical findings: {r['critical']}, "
           f"警告 / warnings: {r['warnings']}", ""]
    for f in r["files"]:
        out += [f"## {f['file']} ({f['dataset']}): {_STATUS_ZH.get(f['status'], f['status'])} / {f['status']}", ""]
        if f["note"]:
            out += [f"{_cell(f['note'])}", ""]
        if not f["failed_rules"]:
            out += ["未发现问题。/ No findings.", ""]
            continue
        for rule in f["failed_rules"]:
            level = "严重 / critical" if rule["severity"] == "critical" else "警告 / warning"
            count = f" — {rule['count']} 行 / rows" if rule.get("count") is not None else ""
            out += [f"### `{rule['rule']}` ({level}){count}", "",
                    f"- {rule['description_zh']}", f"- {rule['description_en']}"]
            if rule.get("message"):
                out.append(f"- 详情 / Detail: {_cell(rule['message'])}")
            out += [f"- 如何更正 / What to fix: {rule['fix_zh']} {rule['fix_en']}", ""]
            if rule["examples"]:
                out += ["| 文件行号 / file line | 字段 / column | 值（已脱敏）/ value (masked) |", "|---|---|---|"]
                out += [f"| {e.get('file_line', e['line'])} | {_cell(e['column'])} | {_cell(e['value'])} |"
                        for e in rule["examples"]]
                out.append("")
    return "\n".join(out) + "\n"


def write_feedback(conn: psycopg.Connection, submission_id: str, state: StatePaths | None = None) -> list[Path]:
    """Write (or rewrite) the submission's feedback.json and feedback.md; [] while it is pending."""
    report = submission_report(conn, submission_id)
    if report is None:
        return []
    return _write_report(report, state)


def _write_report(report: dict, state: StatePaths | None) -> list[Path]:
    folder = (state or paths()).outbox / report["institution_code"] / report["submission_id"]
    folder.mkdir(parents=True, exist_ok=True)
    js, md = folder / "feedback.json", folder / "feedback.md"
    js.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    md.write_text(render_markdown(report), encoding="utf-8")
    return [js, md]


_SUMMARY_SQL = """
with subs as (
    select s.*, row_number() over (partition by institution_code, period order by version) as n,
           count(*) over (partition by institution_code, period) as n_versions
    from ops.submission s
    where (institution_code, period) in (select * from unnest(%(insts)s::text[], %(periods)s::date[]))
), files as (
    select s.institution_code, s.period, s.version, b.*
    from subs s join ops.batch b using (submission_id)
), per_version as (
    select institution_code, period, version,
           bool_and(status in ('accepted', 'superseded', 'duplicate')) as all_ok
    from files group by 1, 2, 3
), fails as (
    select f.institution_code, f.period, d.severity, d.rule_name
    from files f join ops.dq_result d using (batch_id) where not d.success
), latest as (
    select distinct on (institution_code, period) institution_code, period, version, submission_id
    from subs order by institution_code, period, version desc
), file_counts as (  -- one aggregate per (institution, period), not a scan of the files per summary row
    select institution_code, period, count(*) as files,
           count(*) filter (where status in ('accepted', 'superseded')) as files_accepted,
           count(*) filter (where status = 'quarantined') as files_quarantined,
           count(*) filter (where status = 'rejected') as files_rejected,
           count(*) filter (where status = 'duplicate') as files_duplicate,
           sum(loaded_rows) filter (where status = 'accepted') as accepted_rows
    from files group by 1, 2
), fail_counts as (
    select institution_code, period,
           count(*) filter (where severity = 'critical') as critical_failures,
           count(*) filter (where severity = 'warning') as warning_failures,
           jsonb_agg(distinct rule_name) filter (where severity = 'critical') as critical_rules,
           jsonb_agg(distinct rule_name) filter (where severity = 'warning') as warning_rules
    from fails group by 1, 2
), needed as (
    select institution_code, period, min(version) filter (where all_ok) as version from per_version group by 1, 2
), latest_ok as (
    select submission_id, bool_and(status in ('accepted', 'duplicate')) as accepted from files group by 1
)
insert into ops.dq_summary as t (institution_code, period, due_at, first_submitted_at, last_submitted_at, on_time,
    days_late, versions, versions_needed, latest_version, files, files_accepted, files_quarantined, files_rejected,
    files_duplicate, critical_failures, warning_failures, rules_failed, accepted_rows, accepted, updated_at)
select l.institution_code, l.period,
       ((l.period + %(due_days)s + 1)::timestamp at time zone %(tz)s) - interval '1 millisecond',
       first.submitted_at, last.submitted_at,
       case when first.submitted_at is null or l.institution_code = %(regulator)s then null
            else (first.submitted_at at time zone %(tz)s)::date - l.period <= %(due_days)s end,
       case when l.institution_code = %(regulator)s then 0 else
       greatest(0, coalesce((first.submitted_at at time zone %(tz)s)::date - l.period - %(due_days)s, 0)) end,
       first.n_versions,
       coalesce(v.version, last.version),
       l.version,
       coalesce(f.files, 0), coalesce(f.files_accepted, 0), coalesce(f.files_quarantined, 0),
       coalesce(f.files_rejected, 0), coalesce(f.files_duplicate, 0),
       coalesce(x.critical_failures, 0), coalesce(x.warning_failures, 0),
       jsonb_build_object('critical', coalesce(x.critical_rules, '[]'::jsonb),
                          'warning', coalesce(x.warning_rules, '[]'::jsonb)),
       coalesce(f.accepted_rows, 0),
       coalesce(ok.accepted, false),
       now()
from latest l
join subs first on first.institution_code = l.institution_code and first.period = l.period and first.n = 1
join subs last on last.submission_id = l.submission_id
left join file_counts f on f.institution_code = l.institution_code and f.period = l.period
left join fail_counts x on x.institution_code = l.institution_code and x.period = l.period
left join needed v on v.institution_code = l.institution_code and v.period = l.period
left join latest_ok ok on ok.submission_id = l.submission_id
on conflict (institution_code, period) do update set
    due_at = excluded.due_at, first_submitted_at = excluded.first_submitted_at,
    last_submitted_at = excluded.last_submitted_at, on_time = excluded.on_time, days_late = excluded.days_late,
    versions = excluded.versions, versions_needed = excluded.versions_needed,
    latest_version = excluded.latest_version, files = excluded.files, files_accepted = excluded.files_accepted,
    files_quarantined = excluded.files_quarantined, files_rejected = excluded.files_rejected,
    files_duplicate = excluded.files_duplicate, critical_failures = excluded.critical_failures,
    warning_failures = excluded.warning_failures, rules_failed = excluded.rules_failed,
    accepted_rows = excluded.accepted_rows, accepted = excluded.accepted, updated_at = excluded.updated_at
"""


def refresh_dq_summary(conn: psycopg.Connection, pairs: set[tuple[str, date]]) -> int:
    """Rebuild ops.dq_summary rows for the given (institution_code, period) pairs; return their number."""
    if not pairs:
        return 0
    insts, periods = zip(*sorted(pairs), strict=True)
    due_days = min(DUE_DAYS.values())
    with conn.transaction():
        cur = conn.execute(_SUMMARY_SQL, {"insts": list(insts), "periods": list(periods), "due_days": due_days,
                                          "tz": DUE_TIMEZONE, "regulator": REGULATOR_CODE})
    return cur.rowcount


def report_submissions(conn: psycopg.Connection, submission_ids: list[str], state: StatePaths | None = None) -> int:
    """Feedback files for each finished submission, and the DQ summary of their periods. Returns the
    number of submissions reported. A few set-based queries per chunk of submissions, not per submission."""
    done = 0
    pairs: set[tuple[str, date]] = set()
    ids = list(dict.fromkeys(submission_ids))
    for i in range(0, len(ids), REPORT_CHUNK):
        reports = submission_reports(conn, ids[i:i + REPORT_CHUNK])
        for sid in ids[i:i + REPORT_CHUNK]:
            if sid not in reports:
                continue
            if reports[sid] is not None:
                _write_report(reports[sid], state)
                done += 1
        pairs |= {(r[0], r[1]) for r in conn.execute(
            "select institution_code, period from ops.submission where submission_id = any(%s)",
            (ids[i:i + REPORT_CHUNK],)).fetchall()}
    refresh_dq_summary(conn, pairs)
    return done


def write_bad_manifest_feedback(manifest_path: Path, reason: str, state: StatePaths | None = None) -> list[Path]:
    """A submission whose manifest cannot be read: the feedback says why, and that nothing was loaded.
    Written to ``outbox/<institution folder>/<submission folder>/`` (the landing zone's names)."""
    folder = (state or paths()).outbox / manifest_path.parent.parent.parent.name / manifest_path.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    report = {"submission_id": manifest_path.parent.name, "institution_code": manifest_path.parent.parent.parent.name,
              "outcome": "not_accepted", "manifest_error": reason, "files": [],
              "fix_en": "Correct manifest.json (valid UTF-8 JSON, registered datasets only) and resubmit.",
              "fix_zh": "更正manifest.json（有效的UTF-8 JSON，仅列登记的数据集）后重新报送。"}
    js, md = folder / "feedback.json", folder / "feedback.md"
    js.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    md.write_text(f"# 数据报送反馈 / Submission feedback: {report['submission_id']}\n\n"
                  f"- 结果 / Outcome: **未接收 / not accepted**: 报送清单无法读取，未加载任何文件 / the manifest "
                  f"cannot be read, nothing was loaded\n- 详情 / Detail: {_cell(reason)}\n"
                  f"- 如何更正 / What to fix: {report['fix_zh']} {report['fix_en']}\n", encoding="utf-8")
    return [js, md]
