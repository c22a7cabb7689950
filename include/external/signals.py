"""News and advert signals, derived from the loaded feeds (never from hidden labels).

* :func:`derive_news_signals`: for every news item whose current version has no tone yet (new or
  changed since the last run), links entity mentions (:mod:`.linking`) into ``raw_ext.news_entity_link``
  and scores its tone (:mod:`.lexicon`) into ``raw_ext.news_tone``;
* :func:`derive_advert_signals`: for every such advert lead, links the advertiser to a registry firm or
  an institution and flags illegal-fundraising promises into ``raw_ext.advert_lead_flag``.

Both replace the rows of an item in one transaction, so a rerun is idempotent; ``rescore_all=True``
recomputes everything (after a lexicon change or when the registry has grown).
"""

from __future__ import annotations

import logging

import psycopg
from psycopg.types.json import Jsonb

from include.external.lexicon import LEXICON_VERSION, flag_advert, score_news
from include.external.linking import Entity, EntityLinker, city_of_address
from include.warehouse.connection import libpq_url

log = logging.getLogger(__name__)


def load_entities(conn: psycopg.Connection) -> list[Entity]:
    """Firms from ``raw_ext.registry`` and institutions from ``raw.institution`` (latest period)."""
    out = []
    for uscc, name, address, industry in conn.execute(
            "select uscc, name, address, industry_name from raw_ext.registry order by uscc"):
        ind = (industry or "").split("、")[0]
        out.append(Entity("firm", uscc, name, city_of_address(address), ind if len(ind) >= 2 else ""))
    exists = conn.execute("select to_regclass('raw.institution') is not null").fetchone()[0]
    if exists:
        for code, name in conn.execute(
                "select distinct on (institution_code) institution_code, name from raw.institution "
                "where name is not null order by institution_code, report_period desc"):
            out.append(Entity("institution", code, name))
    return out


def link_advertiser(linker: EntityLinker, advertiser: str, text: str) -> tuple[Entity | None, str | None]:
    """The entity behind an advertiser name: exact name, name + suffix, a one-character variant of a
    short name, or the single entity named in the advert's text. Ambiguous candidates resolved by the
    city or industry in the text; otherwise no link."""
    def one(cands: list[Entity], method: str) -> tuple[Entity | None, str | None]:
        uniq = {(e.entity_type, e.entity_id): e for e in cands}
        if len(uniq) == 1:
            return next(iter(uniq.values())), method
        for how, test in (("city", lambda e: e.city and e.city in text),
                          ("industry", lambda e: e.industry and e.industry in text)):
            hit = [e for e in uniq.values() if test(e)]
            if len(hit) == 1:
                return hit[0], f"{method}+{how}"
        return None, f"ambiguous_{method}" if uniq else None

    cands = linker.candidates(advertiser)
    if cands:
        form = "full" if any(f == "full" for _, f in cands) else "short"
        return one([e for e, _ in cands], f"exact_{form}")
    for n in range(len(advertiser) - 1, 1, -1):  # longest known name that starts the advertiser
        cands = linker.candidates(advertiser[:n])
        if cands:
            return one([e for e, _ in cands], "name_with_suffix")
    variants = [e for i in range(len(advertiser)) for e, f in linker.candidates_with_one_change(advertiser, i)
                if f == "short"]
    if variants:
        return one(variants, "variant")
    mentioned = [m.entity for m in linker.link(text)]
    if mentioned:
        return one(mentioned, "text_mention")
    return None, None


def derive_news_signals(url: str, *, rescore_all: bool = False) -> dict[str, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        linker = EntityLinker(load_entities(conn))
        with conn.cursor() as cur:
            rows = cur.execute("select n.news_id, n.version, n.text from raw_ext.news n left join raw_ext.news_tone t "
                               "using (news_id) where %s or t.news_id is null or t.news_version <> n.version "
                               "order by n.news_id", (rescore_all,)).fetchall()
        links, tones = [], []
        for news_id, version, text in rows:
            for m in linker.link(text):
                links.append((news_id, version, m.start, m.end, m.surface, m.entity.entity_type, m.entity.entity_id,
                              m.form, m.ambiguous, m.candidates, m.resolution))
            t = score_news(text)
            tones.append((news_id, version, t.tone, t.risk_score, Jsonb([m.as_dict() for m in t.matches]),
                          LEXICON_VERSION))
        ids = [r[0] for r in rows]
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("delete from raw_ext.news_entity_link where news_id = any(%s)", (ids,))
            cur.executemany("insert into raw_ext.news_entity_link (news_id, news_version, start_pos, end_pos, surface, "
                            "entity_type, entity_id, name_form, ambiguous, candidates, resolution) values "
                            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing", links)
            cur.executemany("insert into raw_ext.news_tone (news_id, news_version, tone, risk_score, matched_terms, "
                            "lexicon_version) values (%s, %s, %s, %s, %s, %s) on conflict (news_id) do update set "
                            "news_version = excluded.news_version, tone = excluded.tone, "
                            "risk_score = excluded.risk_score, matched_terms = excluded.matched_terms, "
                            "lexicon_version = excluded.lexicon_version, scored_at = now()", tones)
    out = {"news_scored": len(rows), "links": len(links), "negative": sum(t[2] == "negative" for t in tones)}
    log.info("news signals: %s", out)
    return out


def derive_advert_signals(url: str, *, rescore_all: bool = False) -> dict[str, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        linker = EntityLinker(load_entities(conn))
        rows = conn.execute("select a.lead_id, a.version, a.advertiser, a.text from raw_ext.advert_leads a "
                            "left join raw_ext.advert_lead_flag f using (lead_id) where %s or f.lead_id is null "
                            "or f.lead_version <> a.version order by a.lead_id", (rescore_all,)).fetchall()
        out_rows = []
        for lead_id, version, advertiser, text in rows:
            entity, method = link_advertiser(linker, advertiser, text)
            flag = flag_advert(text)
            out_rows.append((lead_id, version, advertiser, entity.entity_type if entity else None,
                             entity.entity_id if entity else None, method, flag.illegal, flag.score,
                             Jsonb(list(flag.phrases)), LEXICON_VERSION))
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany("insert into raw_ext.advert_lead_flag (lead_id, lead_version, advertiser, "
                            "linked_entity_type, linked_entity_id, link_method, illegal_promo, promo_score, "
                            "matched_phrases, lexicon_version) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                            "on conflict (lead_id) do update set lead_version = excluded.lead_version, "
                            "advertiser = excluded.advertiser, linked_entity_type = excluded.linked_entity_type, "
                            "linked_entity_id = excluded.linked_entity_id, link_method = excluded.link_method, "
                            "illegal_promo = excluded.illegal_promo, promo_score = excluded.promo_score, "
                            "matched_phrases = excluded.matched_phrases, lexicon_version = excluded.lexicon_version, "
                            "scored_at = now()", out_rows)
    out = {"leads_scored": len(rows), "linked": sum(r[4] is not None for r in out_rows),
           "flagged": sum(bool(r[6]) for r in out_rows)}
    log.info("advert signals: %s", out)
    return out
