-- run-as: loader
-- External feeds (issue #5): the feed watermarks, the fetch log and the quarantine of malformed
-- records; plus the signals derived from news and advert leads. Described for consumers in
-- include/external/README.md. (Replaces 010_raw_ext_feeds.sql: an installation that applied 010 runs
-- this as a no-op.)
--
-- The feed tables themselves are generated from the feed registry (include/registry/feeds.py) by
-- include/registry/ddl.py:feed_ddl and created by the bootstrap after the migrations: raw_ext.<feed>
-- holds the served fields (typed), the natural key as primary key (the latest version seen), and the
-- lineage of the version stored (which fetch, request and page, the record's index in the page, when
-- it was fetched, the record exactly as served); raw_ext.<feed>_history keeps every version ever
-- fetched (primary key: natural key + version), append-only.

create table if not exists ops.ext_fetch (
    fetch_id        bigint generated always as identity primary key,
    feed            text not null,
    base_url        text not null,
    updated_since   timestamptz,          -- the watermark the fetch started from (null: full load)
    watermark_after timestamptz,          -- the watermark committed with the batch
    status          text not null check (status in ('running', 'committed', 'failed')),
    requests        integer not null default 0,   -- HTTP requests made, retries included
    retries         integer not null default 0,
    pages           integer not null default 0,
    records         integer not null default 0,   -- records received
    loaded          integer not null default 0,   -- new or changed versions stored
    unchanged       integer not null default 0,   -- versions already stored (a re-fetch)
    quarantined     integer not null default 0,
    error           text,
    dag_run_id      text,
    started_at      timestamptz not null default clock_timestamp(),
    finished_at     timestamptz
);
create index if not exists ext_fetch_feed_idx on ops.ext_fetch (feed, fetch_id);

-- Advanced only in the transaction that commits the records fetched up to it: every record with
-- updated_at <= watermark is in raw_ext (or in quarantine).
create table if not exists ops.ext_watermark (
    feed          text primary key,
    watermark     timestamptz not null,
    fetch_id      bigint not null references ops.ext_fetch (fetch_id),
    advanced_at   timestamptz not null default now()
);

-- One row per malformed record version (feed, record sha256): the reason names the field and rule.
create table if not exists quarantine.ext_record (
    feed           text not null,
    natural_key    text,
    version        integer,
    record_sha256  text not null,
    rule           text not null,
    field          text,
    reason         text not null,
    record         jsonb not null,
    fetch_id       bigint not null references ops.ext_fetch (fetch_id),
    request_no     integer not null,
    page_no        integer not null,
    record_index   integer not null,
    fetched_at     timestamptz not null,
    primary key (feed, record_sha256)
);

-- ---- signals (derived by include/external/signals; recomputed for a record when its version changes) --
-- One row per linked mention: an entity (firm by USCC, institution by institution_code) named in a
-- news item's text at [start_pos, end_pos) (character offsets, Python/PostgreSQL substr-1 convention).
create table if not exists raw_ext.news_entity_link (
    news_id       text not null,
    news_version  integer not null,
    start_pos     integer not null,
    end_pos       integer not null,
    surface       text not null,
    entity_type   text not null check (entity_type in ('firm', 'institution')),
    entity_id     text not null,
    name_form     text not null check (name_form in ('full', 'short')),
    ambiguous     boolean not null,    -- the surface names more than one known entity
    candidates    integer not null,    -- how many entities the surface could name
    resolution    text not null,       -- unique | context | ...
    linked_at     timestamptz not null default now(),
    primary key (news_id, start_pos, entity_type, entity_id)
);

-- One row per news item: the negative-risk tone from the lexicon (include/external/lexicon.py).
create table if not exists raw_ext.news_tone (
    news_id        text primary key,
    news_version   integer not null,
    tone           text not null check (tone in ('negative', 'neutral', 'positive')),
    risk_score     double precision not null,   -- sum of the weights of the un-negated risk terms found
    matched_terms  jsonb not null,              -- [{term, category, weight, start, negated}]
    lexicon_version text not null,
    scored_at      timestamptz not null default now()
);

-- One row per advert lead: the registry firm (or institution) it is linked to, if any, and whether it
-- carries promises typical of illegal fundraising, with the phrases matched.
create table if not exists raw_ext.advert_lead_flag (
    lead_id             text primary key,
    lead_version        integer not null,
    advertiser          text not null,
    linked_entity_type  text check (linked_entity_type in ('firm', 'institution')),
    linked_entity_id    text,
    link_method         text,          -- exact_full | exact_short | short_with_suffix | variant | text_mention
    illegal_promo       boolean not null,
    promo_score         double precision not null,
    matched_phrases     jsonb not null, -- [{phrase, category, start}]
    lexicon_version     text not null,
    scored_at           timestamptz not null default now()
);
