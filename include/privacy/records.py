"""Personal identifiers in the external feeds are pseudonymised at load, with the same keyed hash and
key as the submissions (:mod:`include.privacy.pseudonymise`), so that no person's name or identifier
reaches ``raw_ext`` (nor the lineage copy of the record, nor quarantine) and a person named in a feed
gets the same token wherever the same value of the same kind appears.

What is personal is decided per record, because the same column holds firms and persons:

=====================  ==================================================  ==========
feed                   tokenised                                           kind
=====================  ==================================================  ==========
registry               ``legal_rep_name``; ``shareholders[].name`` of      name
                       holders of type 自然人
registry_changes       ``before`` / ``after`` of 法定代表人变更 and 股东变更     name (each
                       (a shareholder list is split on ``；``; firm names   person in
                       — ending in 公司/企业/合伙/中心/... — stay)               a list)
court_enforcement      ``party_name`` and ``party_id`` (a masked resident   name,
                       ID) when ``party_type`` is 自然人                     resident_id
penalties              ``party_name`` when ``party_type`` is 个人            name
=====================  ==================================================  ==========

Firms' and institutions' names and USCCs are public register data and stay as served: entity
linking and the portraits need them. The record's sha256 (its identity for idempotent re-fetches) is
taken over the record as served, before this step.
"""

from __future__ import annotations

import re
from typing import Any

from include.privacy.pseudonymise import token

PERSON_PARTY = frozenset({"自然人", "个人"})
PERSON_CHANGES = frozenset({"法定代表人变更", "股东变更"})
LIST_SEP = "；"
_ORG = re.compile(r"(公司|企业|合伙\)?|中心|集团|银行|社|厂|店|所)$")


def _name(v: Any, key: bytes) -> Any:
    return token(v, "name", key) if isinstance(v, str) and v else v


def _names_in_list(v: Any, key: bytes) -> Any:
    if not isinstance(v, str) or not v:
        return v
    # empty items (a doubled or trailing separator, as served) stay empty
    return LIST_SEP.join(p if not p.strip() or _ORG.search(p) else token(p, "name", key) for p in v.split(LIST_SEP))


def pseudonymise_record(feed: str, rec: dict, key: bytes) -> dict:
    """A copy of ``rec`` (a record of ``feed`` as served) with its personal identifiers tokenised."""
    out = dict(rec)
    if feed == "registry":
        out["legal_rep_name"] = _name(rec.get("legal_rep_name"), key)
        if isinstance(rec.get("shareholders"), list):
            out["shareholders"] = [
                {**s, "name": _name(s.get("name"), key)} if isinstance(s, dict) and s.get("holder_type") == "自然人"
                else s for s in rec["shareholders"]]
    elif feed == "registry_changes" and rec.get("change_type") in PERSON_CHANGES:
        for col in ("before", "after"):
            out[col] = _names_in_list(rec.get(col), key)
    elif feed == "court_enforcement" and rec.get("party_type") in PERSON_PARTY:
        out["party_name"] = _name(rec.get("party_name"), key)
        if isinstance(rec.get("party_id"), str) and rec["party_id"]:
            out["party_id"] = token(rec["party_id"], "resident_id", key)
    elif feed == "penalties" and rec.get("party_type") in PERSON_PARTY:
        out["party_name"] = _name(rec.get("party_name"), key)
    return out


def changed_fields(before: dict, after: dict) -> list[str]:
    """The fields :func:`pseudonymise_record` replaced."""
    return [k for k in after if after[k] != before.get(k)]
