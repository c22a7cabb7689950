"""``supervision import transactions FILE``: a plain CSV of transfers (a bank's statement export, a
case file, a benchmark) becomes submissions in the landing zone, so it passes the same quality gate
and reaches the same marts as an institution's own delivery.

Input: UTF-8 (a BOM is fine) or GB18030 CSV with a header row. Required columns ``sender_account,
receiver_account, amount, timestamp``; optional ``txn_id, purpose, channel, institution_code`` and per
side (``sender_`` / ``receiver_`` prefix) ``institution_code, name, id_no, type, birth_date``. The
README section "Bringing a bank's statement export" documents the format and every placeholder.

Output: one submission per (institution, month) with the ``customer_individual``,
``customer_corporate``, ``account`` and ``transaction`` rows of that month (a customer and its
account in the month the export first shows the account), each transfer written once per side, in
the submission of that side's institution. Nothing is written unless every row is good: each bad row is
one line ``FILE:ROW: column: rule`` and the exit code is 2.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from include.ingest.contract import INSTITUTION_CODE_RE

REQUIRED = ("sender_account", "receiver_account", "amount", "timestamp")
SIDE_FIELDS = ("institution_code", "name", "id_no", "type", "birth_date")
OPTIONAL = ("txn_id", "purpose", "channel", "institution_code",
            *(f"{side}_{f}" for side in ("sender", "receiver") for f in SIDE_FIELDS))
TYPES = {"个人": "个人", "individual": "个人", "person": "个人", "p": "个人", "i": "个人",
         "对公": "对公", "corporate": "对公", "company": "对公", "business": "对公", "c": "对公"}
DEFAULT_CHANNEL = "网上银行"
#: placeholders (README "Bringing a bank's statement export")
PLACEHOLDER_BIRTH = date(1980, 1, 1)
PLACEHOLDER_FOUNDED = date(2000, 1, 1)
PLACEHOLDER_INDUSTRY = "L"
INSTITUTION_RE = re.compile(INSTITUTION_CODE_RE)  # the landing contract's rule: one for every writer
MAX_AMOUNT = Decimal("1e13")
_TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
               "%Y/%m/%d", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S")


class BadInput(ValueError):
    """A bad input: the message is the one line the user sees."""


@dataclass
class Holder:
    """One account of the export, with what its rows say about its holder (first value wins)."""

    institution_code: str
    account_text: str
    account_no: str
    first_seen: datetime
    first_row: int
    kind: str = ""
    name: str = ""
    id_no: str = ""
    birth_date: date | None = None


@dataclass
class Plan:
    holders: dict[tuple[str, str], Holder] = field(default_factory=dict)
    #: (institution, period) -> transaction rows (dicts in registry column names)
    transactions: dict[tuple[str, date], list[dict]] = field(default_factory=lambda: defaultdict(list))


def month_end(d: date) -> date:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def parse_timestamp(text: str) -> datetime:
    """A timestamp as China Standard Time (naive = +08:00; an explicit offset is converted)."""
    from include.ingest.contract import CST

    t = text.strip()
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _TS_FORMATS:
            try:
                dt = datetime.strptime(t, fmt)
                break
            except ValueError:
                continue
        else:
            raise BadInput(f"not a timestamp: {text!r} (use ISO 8601, e.g. 2026-03-31T14:05:00+08:00)") from None
    return dt.replace(tzinfo=CST) if dt.tzinfo is None else dt.astimezone(CST)


def parse_amount(text: str) -> Decimal:
    t = text.strip().replace(",", "")
    try:
        v = Decimal(t)
    except InvalidOperation:
        raise BadInput(f"not a number: {text!r}") from None
    if not v.is_finite():
        raise BadInput(f"not a number: {text!r}")
    v = v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if v <= 0 or v > MAX_AMOUNT:
        raise BadInput(f"must be positive and at most 1e13 after rounding to cents, got {text!r}")
    return v


def _side(row: dict, side: str, default_inst: str | None, row_no: int, ts: datetime, plan: Plan) -> Holder:
    from include.flows.identifiers import account_no_for, is_valid_resident_id, is_valid_uscc, resident_id_birth_date

    def get(name: str) -> str:
        return (row.get(f"{side}_{name}") or "").strip()

    account = get("account")
    if not account:
        raise BadInput(f"{side}_account: required, empty")
    inst = get("institution_code") or (row.get("institution_code") or "").strip() or default_inst
    if not inst:
        raise BadInput(f"{side}_institution_code: no institution (give an institution_code column or --institution)")
    if not INSTITUTION_RE.match(inst):
        raise BadInput(f"{side}_institution_code: {inst!r} is not 2-16 capital letters or digits (landing contract)")
    kind_text = get("type")
    kind = TYPES.get(kind_text.lower(), "") if kind_text else ""
    if kind_text and not kind:
        raise BadInput(f"{side}_type: {kind_text!r} is not 个人/individual or 对公/corporate")
    id_no = get("id_no").upper()
    birth = None
    if get("birth_date"):
        try:
            birth = date.fromisoformat(get("birth_date").replace("/", "-"))
        except ValueError:
            raise BadInput(f"{side}_birth_date: not a date YYYY-MM-DD: {get('birth_date')!r}") from None
    if id_no:
        if not kind:
            kind = "对公" if len(id_no) == 18 and not id_no[:17].isdigit() else "个人"
        if kind == "个人" and not is_valid_resident_id(id_no):
            raise BadInput(f"{side}_id_no: {id_no!r} is not a resident ID with a valid birth date and check digit")
        if kind == "对公" and not is_valid_uscc(id_no):
            raise BadInput(f"{side}_id_no: {id_no!r} is not a USCC with a valid check character")
        if kind == "个人":
            if birth and birth != resident_id_birth_date(id_no):
                raise BadInput(f"{side}_birth_date: {birth} disagrees with the birth date in {side}_id_no")
            birth = resident_id_birth_date(id_no)
    if birth and birth > ts.date():
        raise BadInput(f"{side}_birth_date: {birth} is after the transfer")
    key = (inst, account)
    h = plan.holders.get(key)
    if h is None:
        h = plan.holders[key] = Holder(inst, account, account_no_for(account), ts, row_no)
    for attr, value in (("kind", kind), ("name", get("name")), ("id_no", id_no), ("birth_date", birth)):
        old = getattr(h, attr)
        if value and old and value != old:
            raise BadInput(f"{side}_{'type' if attr == 'kind' else attr}: {value!r} for account {account!r} "
                               f"contradicts {old!r} given on row {h.first_row}")
        if value and not old:
            setattr(h, attr, value)
    if ts < h.first_seen:
        h.first_seen = ts
    return h


def read_plan(path: Path, encoding: str, default_inst: str | None, months: set[date] | None) -> tuple[Plan, list[str]]:
    """Read (streaming) and check every row; return the plan and the error lines (empty when all is well)."""
    try:
        f = path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")
    except (FileNotFoundError, IsADirectoryError):
        return Plan(), [f"{path}: no such file"]
    with f:
        try:
            return _read_rows(f, path, default_inst, months)
        except UnicodeDecodeError:
            other = "gb18030" if encoding == "utf-8" else "utf-8"
            return Plan(), [f"{path}: not {encoding} text; try --encoding {other}"]


def _read_rows(f, path: Path, default_inst: str | None, months: set[date] | None) -> tuple[Plan, list[str]]:
    from include.flows.identifiers import account_no_for

    plan, errors = Plan(), []
    reader = csv.DictReader(f)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return plan, [f"{path}:1: header: missing required column(s) {', '.join(missing)}"]
    unknown = [c for c in header if c not in REQUIRED and c not in OPTIONAL]
    if unknown:
        known = ", ".join(REQUIRED + OPTIONAL)
        return plan, [f"{path}:1: header: unknown column(s) {', '.join(unknown)} (known: {known})"]
    reader.fieldnames = header
    seen_ids: dict[str, int] = {}
    for i, row in enumerate(reader, start=2):
        if None in row:
            errors.append(f"{path}:{i}: row: more fields than the header")
            continue
        try:
            try:
                ts = parse_timestamp(row["timestamp"] or "")
            except BadInput as e:
                raise BadInput(f"timestamp: {e}") from None
            try:
                amount = parse_amount(row["amount"] or "")
            except BadInput as e:
                raise BadInput(f"amount: {e}") from None
            period = month_end(ts.date())
            if months is not None and period not in months:
                continue
            txn_id = (row.get("txn_id") or "").strip() or f"IMP{i:09d}"
            if txn_id in seen_ids:
                raise BadInput(f"txn_id: {txn_id!r} already used on row {seen_ids[txn_id]}")
            seen_ids[txn_id] = i
            sender = _side(row, "sender", default_inst, i, ts, plan)
            receiver = _side(row, "receiver", default_inst, i, ts, plan)
        except BadInput as e:
            errors.append(f"{path}:{i}: {e}")
            continue
        common = {"report_period": period.isoformat(), "txn_time": ts.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                  "amount": f"{amount:f}", "channel": (row.get("channel") or "").strip() or DEFAULT_CHANNEL,
                  "purpose": (row.get("purpose") or "").strip()}
        for me, other, direction, suffix in ((sender, receiver, "付", "D"), (receiver, sender, "收", "C")):
            plan.transactions[(me.institution_code, period)].append({
                **common, "institution_code": me.institution_code, "txn_id": f"{txn_id}-{suffix}",
                "account_no": account_no_for(me.account_text), "direction": direction,
                "counterparty_account": other.account_no, "counterparty_name": other.name,
                "counterparty_institution_code": other.institution_code})
    if not errors and not plan.transactions:
        errors.append(f"{path}: no transfers to import" + (" in the selected --period" if months else ""))
    return plan, errors


def _holder_rows(plan: Plan) -> dict[tuple[str, date], dict[str, list[dict]]]:
    """Customers and accounts, in the submission of the month each account is first seen."""
    from include.flows.identifiers import (
        PLACEHOLDER_REGION,
        customer_id_for,
        placeholder_resident_id,
        placeholder_uscc,
    )

    out: dict[tuple[str, date], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    customers_done: set[tuple[str, str]] = set()
    for h in sorted(plan.holders.values(), key=lambda x: (x.institution_code, x.first_seen, x.account_text)):
        kind = h.kind or "个人"
        period = month_end(h.first_seen.date())
        seen = h.first_seen.date().isoformat()
        cid = customer_id_for(kind, h.id_no or f"{h.institution_code}:{h.account_text}")
        files = out[(h.institution_code, period)]
        if (h.institution_code, cid) not in customers_done:
            customers_done.add((h.institution_code, cid))
            base = {"institution_code": h.institution_code, "report_period": period.isoformat(), "customer_id": cid,
                    "onboard_date": seen, "region_code": PLACEHOLDER_REGION}
            if kind == "个人":
                birth = h.birth_date or PLACEHOLDER_BIRTH
                rid = h.id_no or placeholder_resident_id(f"{h.institution_code}:{h.account_text}", birth)
                files["customer_individual"].append({
                    **base, "resident_id": rid, "name": h.name or f"导入客户{h.account_no[-6:]}",
                    "sex": "男" if int(rid[16]) % 2 else "女", "birth_date": birth.isoformat(), "phone": "",
                    "onboard_date": max(seen, birth.isoformat())})
            else:
                files["customer_corporate"].append({
                    **base, "uscc": h.id_no or placeholder_uscc(f"{h.institution_code}:{h.account_text}"),
                    "name": h.name or f"导入单位{h.account_no[-6:]}", "industry_code": PLACEHOLDER_INDUSTRY,
                    "registered_capital": "0", "founded_date": min(PLACEHOLDER_FOUNDED.isoformat(), seen),
                    "legal_rep_name": "未提供",
                    "legal_rep_resident_id": placeholder_resident_id("rep:" + cid, PLACEHOLDER_BIRTH)})
        files["account"].append({
            "institution_code": h.institution_code, "report_period": period.isoformat(),
            "account_no": h.account_no, "customer_id": cid, "customer_type": kind,
            "account_type": "个人结算账户" if kind == "个人" else "单位基本存款账户", "currency": "CNY",
            "open_date": seen, "status": "正常"})
    return out


def _next_version(landing: Path, inst: str, period: date) -> int:
    d = landing / inst / period.isoformat()
    versions = [int(m.group(1)) for p in d.glob("*") if (m := re.search(r"-v(\d+)(?:\.tmp)?$", p.name))]
    return max(versions, default=0) + 1


def _csv_bytes(dataset: str, rows: list[dict]) -> bytes:
    import io

    from include.registry.datasets import get

    cols = get(dataset).column_names
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([r.get(c, "") for c in cols])
    return buf.getvalue().encode("utf-8")


def write_submissions(plan: Plan, landing: Path) -> list[Path]:
    """Write every (institution, month) submission atomically; return the manifest paths."""
    import hashlib

    from include.ingest.contract import (
        CST,
        MANIFEST_NAME,
        data_file_name,
        manifest_bytes,
        manifest_dict,
        submission_dir,
    )

    holders = _holder_rows(plan)
    keys = sorted(set(plan.transactions) | set(holders))
    submitted_at = datetime.now(CST).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    written = []
    for inst, period in keys:
        datasets = {**holders.get((inst, period), {}), "transaction": plan.transactions.get((inst, period), [])}
        version = _next_version(landing, inst, period)
        final = submission_dir(landing, inst, period, version)
        tmp = final.parent / f".{final.name}.tmp"
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp.mkdir(mode=0o700)
        files = []
        for ds in ("customer_individual", "customer_corporate", "account", "transaction"):
            if not datasets.get(ds):
                continue
            data = _csv_bytes(ds, datasets[ds])
            name = data_file_name(ds, None)
            fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            files.append({"dataset": ds, "file": name, "encoding": "utf-8", "delimiter": ",", "compression": None,
                          "rows": len(datasets[ds]), "sha256": hashlib.sha256(data).hexdigest()})
        manifest = manifest_dict(inst, period, version, submitted_at, files)
        fd = os.open(tmp / MANIFEST_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(manifest_bytes(manifest))
        tmp.rename(final)
        written.append(final / MANIFEST_NAME)
    return written


def _pseudonym_key() -> bytes | None:
    """The warehouse's pseudonymisation key when this machine has it (never generated here)."""
    from include.config import paths
    from include.privacy.pseudonymise import KEY_ENV, _key_path, load_key

    if os.environ.get(KEY_ENV) or _key_path(paths()).exists():
        return load_key(paths())
    return None


def write_account_map(plan: Plan, path: Path) -> None:
    """Account as in the file -> account_no written -> the token the warehouse shows (when the key is here)."""
    from include.privacy.pseudonymise import token

    key = _pseudonym_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["institution_code", "account_in_file", "account_no", "token"])
        for h in sorted(plan.holders.values(), key=lambda x: (x.institution_code, x.account_text)):
            w.writerow([h.institution_code, h.account_text, h.account_no,
                        token(h.account_no, "account", key) if key else ""])


def plan_import(path: Path, landing: Path, institution: str | None = None, months: set[date] | None = None,
                encoding: str = "utf-8", replace: bool = False) -> Plan:
    """Read and check ``path`` as an import into ``landing`` would, writing nothing; raise BadInput with
    every error line."""
    if institution is not None and not INSTITUTION_RE.match(institution):
        raise BadInput(f"--institution: {institution!r} is not 2-16 capital letters or digits (the landing contract)")
    plan, errors = read_plan(Path(path), encoding, institution, months)
    if errors:
        raise BadInput("\n".join(errors))
    if not replace:
        for inst, period in sorted(set(plan.transactions)):
            there = sorted(p.name for p in (Path(landing) / inst / period.isoformat()).glob("*")
                           if not p.name.startswith("."))
            if there:
                errors.append(f"{path}: {inst} {period:%Y-%m} already has {', '.join(there)} in the landing zone and "
                              "an import would supersede it; use an institution code of your own, or --replace")
        if errors:
            raise BadInput("\n".join(errors))
    return plan


def import_transactions(path: Path, landing: Path, institution: str | None = None, months: set[date] | None = None,
                        encoding: str = "utf-8", account_map: Path | None = None, replace: bool = False) -> list[Path]:
    """Check ``path`` and write its submissions into ``landing``; raise BadInput with every error line."""
    plan = plan_import(path, landing, institution, months, encoding, replace)
    written = write_submissions(plan, Path(landing))
    if account_map is not None:
        write_account_map(plan, Path(account_map))
    return written


def _period(text: str) -> date:
    try:
        return month_end(datetime.strptime(text, "%Y-%m").date())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month YYYY-MM: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supervision import", description="Bring outside data into the landing zone.")
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("transactions", help="a CSV of transfers -> customer, account and transaction submissions",
                       description="Columns: sender_account, receiver_account, amount, timestamp (required); txn_id, "
                                   "purpose, channel, institution_code, sender_/receiver_ institution_code, name, "
                                   "id_no, type, birth_date (optional). See README, 'Bringing a bank's statement "
                                   "export'.")
    t.add_argument("file", type=Path)
    t.add_argument("--institution", help="institution code for rows that name none")
    t.add_argument("--period", type=_period, action="append", metavar="YYYY-MM",
                   help="import only this month (repeatable; default: every month in the file)")
    t.add_argument("--encoding", choices=("utf-8", "gb18030"), default="utf-8")
    t.add_argument("--landing", type=Path, help="landing zone (default: $SUPERVISION_HOME/landing)")
    t.add_argument("--replace", action="store_true",
                   help="write the next version where the landing zone already has a submission (it supersedes it)")
    t.add_argument("--account-map", type=Path, help="write account-as-in-file -> account_no written (CSV, 0600)")
    args = parser.parse_args(argv)
    from include.config import paths

    landing = args.landing or paths().landing
    try:
        written = import_transactions(args.file, landing, args.institution, set(args.period) if args.period else None,
                                      args.encoding, args.account_map, args.replace)
    except BadInput as e:
        print(str(e), file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{args.file}: cannot write the landing zone: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # an unusable pseudonymisation key (--account-map)
        print(f"{args.file}: {e}", file=sys.stderr)
        return 2
    print(f"{len(written)} submission(s) written to {landing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
