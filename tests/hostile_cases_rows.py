"""Hostile rows and versions (issue #14): ownership, strict values, identity, resubmissions. Registered
in :data:`tests.hostile_cases.CASES` (import this module to add them)."""

from __future__ import annotations

from pathlib import Path

from tests.hostile_cases import NEXT, PERIOD, capital, case, csv_bytes, institution, make, person, write


def _rows(dataset: str, rows_of, **kw):
    def build(landing: Path, outside: Path, code: str) -> Path:
        return write(landing, make(code, {dataset: rows_of(code)}, **kw))
    return build


# ---------------------------------------------------------------- ownership
case("rows: another institution's code", "rejected", "row_institution_matches_manifest")(
    _rows("capital_report", lambda c: [capital("B0001")]))
case("rows: customers carrying another institution's code", "rejected", "row_institution_matches_manifest",
     dataset="customer_individual")(_rows("customer_individual", lambda c: [person(c, 1), person("B0001", 2)]))
case("rows: institution code empty", "rejected", "row_institution_matches_manifest")(
    _rows("capital_report", lambda c: [[""] + capital(c)[1:]]))


def _institution_v1(landing: Path, code: str) -> list[Path]:
    return [write(landing, make(code, {"institution": [institution(code)]}))]


case("identity: bureau_code changed without a flag", "rejected", "identity_change_flagged", dataset="institution",
     before=_institution_v1)(_rows("institution", lambda c: [institution(c, NEXT, bureau="HQ")], period=NEXT))
case("identity: licence_no changed without a flag", "rejected", "identity_change_flagged", dataset="institution",
     before=_institution_v1)(_rows("institution", lambda c: [institution(c, NEXT)[:2] + ["LX"] +
                                                             institution(c, NEXT)[3:]], period=NEXT))


@case("identity: bureau_code changed, flagged (control)", "accepted", None, dataset="institution",
      before=_institution_v1)
def _(landing, outside, code):
    s = make(code, {"institution": [institution(code, NEXT, bureau="SH")]}, period=NEXT)
    s.manifest["identity_change"] = True
    return write(landing, s)


@case("new institution introducing itself with its record (control)", "accepted", None, dataset="institution",
      admit=False)
def _(landing, outside, code):
    return write(landing, make(code, {"institution": [institution(code)]}))


# ---------------------------------------------------------------- lengths
case("rows: region_code of 10 MB", "rejected", "max_length", dataset="institution")(
    _rows("institution", lambda c: [institution(c, region="3" * (10 << 20))]))
case("rows: region_code of 7 characters", "rejected", "max_length", dataset="institution")(
    _rows("institution", lambda c: [institution(c, region="3301001")]))
case("rows: name of 1,000 characters", "rejected", "max_length", dataset="institution")(
    _rows("institution", lambda c: [institution(c, name="银" * 1000)]))
case("rows: capital institution_code of 300 characters", "rejected", "row_institution_matches_manifest")(
    _rows("capital_report", lambda c: [["I" * 300] + capital(c)[1:]]))

# ---------------------------------------------------------------- strict values (the type rules)
for _text in ("09/05/1992", "today", "epoch", "Jan 5 1990", "1990-1-5", "19900105", "infinity", "1990-01-05 BC"):
    case(f"value: birth_date {_text!r}", "quarantined", "type_birth_date", dataset="customer_individual")(
        _rows("customer_individual", lambda c, t=_text: [person(c, 3, birth=t)]))
for _col, _i, _text in [("cet1_capital", 2, "NaN"), ("cet1_capital", 2, "nan"), ("total_rwa", 8, "Infinity"),
                        ("total_rwa", 8, "-Infinity"), ("tier1_capital", 3, "inf"), ("total_capital", 4, "1e400")]:
    case(f"value: {_col} {_text!r}", "quarantined", f"type_{_col}")(
        _rows("capital_report", lambda c, i=_i, t=_text: [capital(c)[:i] + [t] + capital(c)[i + 1:]]))
case("value: negative CET1 capital", "quarantined", "capital_components_non_negative")(
    _rows("capital_report", lambda c: [capital(c, cet1="-1230.00")]))
case("value: negative operational RWA", "quarantined", "capital_components_non_negative")(
    _rows("capital_report", lambda c: [capital(c)[:7] + ["-1.00"] + capital(c)[8:]]))
case("value: report_period of another period", "quarantined", "report_period_matches")(
    _rows("capital_report", lambda c: [capital(c, "2024-12-31")]))


@case("value: column shift puts the resident ID in sex", "quarantined", "customer_individual_sex_known",
      dataset="customer_individual")
def _(landing, outside, code):
    row = person(code, 5)
    shifted = row[:3] + [row[4], row[5], row[3]] + row[6:]  # a field dropped and re-added: shifted left
    return write(landing, make(code, {"customer_individual": [shifted]}))


@case("value: <script> in the institution name (stored, escaped downstream)", "accepted", None,
      dataset="institution")
def _(landing, outside, code):
    return write(landing, make(code, {"institution": [institution(code, name="<script>alert(1)</script>")]}))


# ---------------------------------------------------------------- versions
def _v1(landing: Path, code: str) -> list[Path]:
    return [write(landing, make(code, {"capital_report": [capital(code)]}))]


case("version: header-only v2 of a non-empty v1", "quarantined", "empty_resubmission", before=_v1)(
    _rows("capital_report", lambda c: [], version=2))


@case("version: zero-byte-data v2 (header, no newline) of a non-empty v1", "quarantined", "empty_resubmission",
      before=_v1)
def _(landing, outside, code):
    s = make(code, {"capital_report": csv_bytes("capital_report", []).rstrip(b"\n")}, version=2)
    s.entries[0]["rows"] = 0
    return write(landing, s)


def _v1_v2(landing: Path, code: str) -> list[Path]:
    return [write(landing, make(code, {"capital_report": [capital(code)]})),
            write(landing, make(code, {"capital_report": [capital(code, cet1="850.00")]}, version=2))]


case("version: revert v3 = v1 is a new accepted version", "accepted", None, before=_v1_v2)(
    _rows("capital_report", lambda c: [capital(c)], version=3))
case("version: v2 identical to the accepted v1 is a duplicate", "duplicate", "already accepted", before=_v1)(
    _rows("capital_report", lambda c: [capital(c)], version=2))


def _v2_only(landing: Path, code: str) -> list[Path]:
    return [write(landing, make(code, {"capital_report": [capital(code, cet1="850.00")]}, version=2))]


case("version: v1 arriving after v2 is superseded at once", "superseded", None, before=_v2_only)(
    _rows("capital_report", lambda c: [capital(c)], version=1))

# ---------------------------------------------------------------- clean controls in the same run
for _i in range(4):
    case(f"control: clean capital report #{_i + 1}", "accepted", None)(
        _rows("capital_report", lambda c: [capital(c)]))
case("control: clean gzip capital report", "accepted", None)(
    _rows("capital_report", lambda c: [capital(c)], gz=True))
case("control: clean customers", "accepted", None, dataset="customer_individual")(
    _rows("customer_individual", lambda c: [person(c, 11), person(c, 12)]))
assert PERIOD < NEXT
