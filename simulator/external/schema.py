"""The served shape of every feed: fields, natural key, mandatory fields, what a malformed record may
break, and the field renamed by ``schema_version=2``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeedSpec:
    name: str
    key: str  # natural key (unique per feed)
    fields: tuple[str, ...]  # served fields, schema version 1, in order
    mandatory: tuple[str, ...]
    text_field: str  # may be truncated by a malformed record
    typed_field: str  # may carry the wrong type in a malformed record
    uscc_field: str | None  # may carry a bad check character (never the key)
    v2_rename: tuple[str, str]  # (old, new) under schema_version=2
    doc: str

    def fields_for(self, schema_version: int) -> tuple[str, ...]:
        if schema_version == 2:
            old, new = self.v2_rename
            return tuple(new if f == old else f for f in self.fields)
        return self.fields


_COMMON = ("version", "updated_at")

SPECS: dict[str, FeedSpec] = {s.name: s for s in (
    FeedSpec("registry", "uscc",
             ("uscc", "name", "legal_rep_name", "registered_capital", "status", "industry_code", "industry_name",
              "region_code", "address", "founded_date", "shareholders", *_COMMON),
             ("uscc", "name", "legal_rep_name", "status", *_COMMON), "name", "registered_capital", None,
             ("legal_rep_name", "legal_representative"),
             "Enterprise registry (工商登记): current record per firm; a change bumps version."),
    FeedSpec("registry_changes", "change_id",
             ("change_id", "uscc", "name", "change_type", "change_date", "before", "after", *_COMMON),
             ("change_id", "uscc", "change_type", "change_date", *_COMMON), "after", "change_date", "uscc",
             ("change_type", "type"),
             "Registry change events (法定代表人/注册资本/股东/经营状态变更); immutable."),
    FeedSpec("court_enforcement", "case_no",
             ("case_no", "party_type", "party_id", "party_name", "court", "filed_date", "amount", "list_type",
              "status", *_COMMON),
             ("case_no", "party_type", "party_id", "party_name", "court", "filed_date", "list_type", "status",
              *_COMMON), "party_name", "amount", "party_id",
             ("party_name", "party"),
             "Court enforcement (被执行人 / 失信被执行人); status and list changes bump version."),
    FeedSpec("penalties", "decision_no",
             ("decision_no", "party_type", "party_name", "institution_code", "party_uscc", "party_position",
              "authority", "bureau_code", "decision_date", "penalty_kind", "amount_cny", "reasons", "status",
              *_COMMON),
             ("decision_no", "party_type", "party_name", "institution_code", "authority", "decision_date",
              "penalty_kind", *_COMMON), "reasons", "amount_cny", "party_uscc",
             ("amount_cny", "amount"),
             "Administrative penalties against institutions (机构) and individuals (个人); corrections bump version."),
    FeedSpec("developer_financials", "disclosure_id",
             ("disclosure_id", "uscc", "name", "report_period", "total_assets", "total_liabilities", "advance_receipts",
              "cash", "short_term_debt", "long_term_debt", "equity", *_COMMON),
             ("disclosure_id", "uscc", "name", "report_period", "total_assets", "total_liabilities",
              "advance_receipts", "cash", "short_term_debt", "long_term_debt", "equity", *_COMMON),
             "name", "total_assets", "uscc",
             ("advance_receipts", "contract_liabilities"),
             "Real-estate developers' quarterly financial disclosures (balance-sheet items, CNY); the three red "
             "lines are not served. A correction bumps version."),
    FeedSpec("news", "news_id",
             ("news_id", "source", "published_at", "title", "text", "url", *_COMMON),
             ("news_id", "source", "published_at", "text", *_COMMON), "text", "published_at", None,
             ("text", "content"),
             "News items (Chinese); tone and entity mentions are not served."),
    FeedSpec("advert_leads", "lead_id",
             ("lead_id", "advertiser", "platform", "text", "captured_at", "source_url", *_COMMON),
             ("lead_id", "advertiser", "text", "captured_at", *_COMMON), "text", "captured_at", None,
             ("advertiser", "advertiser_name"),
             "Financial-advert leads captured online; whether a lead is illegal fundraising is not served."),
)}
FEEDS: tuple[str, ...] = tuple(SPECS)
