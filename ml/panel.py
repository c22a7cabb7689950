"""Labelled panels: one row per (entity, period) with a 0/1 label and numeric features.

A panel comes from a CSV file, a Parquet file or a warehouse table (``schema.table``). Loading checks
it and fails with an error that names the source, the row and the rule, before anything is trained:
every named column exists, periods are periods (``YYYYQn``, ``YYYY-MM`` or dates, see ``ml.periods``),
labels are 0/1 (empty = not yet known, e.g. the latest period: kept for scoring, left out of training),
features are numbers, (entity, period) is unique, the label is not also a feature.

Infinite feature values (a ratio over a zero denominator) are kept and counted (``Panel.handling``):
the models clip every feature to its training percentile range (``ml.models.ClipToTrainingRange``), so
+inf becomes the highest ordinary training value, not a typical one. See ``ml.handling`` for the rest.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml.periods import parse_series
from ml.spec import PanelError, PanelSpec

log = logging.getLogger(__name__)
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


__all__ = ["Panel", "PanelError", "PanelSpec", "build", "load", "read_source"]


@dataclass
class Panel:
    frame: pd.DataFrame  # columns: entity, period (datetime64), label (float 0/1/NaN), features, extras
    spec: PanelSpec
    source: str
    handling: dict = field(default_factory=dict)  # data handling counts, reported with every model

    @property
    def labelled(self) -> pd.DataFrame:
        """The rows with a known label. Computed once per ``frame`` object and label: every split of every
        candidate asks for it (on the account panel, ~330k rows, over a hundred times per ``score_risk``).
        A panel's frame is never changed in place (``ml.derive``, ``ml.handling`` and ``ml.scoring`` copy it);
        a new frame assigned to ``frame`` is a new key. Do not modify the returned frame."""
        c = self.__dict__.get("_labelled")
        if c is None or c[0] is not self.frame or c[1] != self.spec.label:
            c = (self.frame, self.spec.label, self.frame[self.frame[self.spec.label].notna()])
            self.__dict__["_labelled"] = c
        return c[2]

    def periods(self, labelled_only: bool = True) -> list[pd.Timestamp]:
        f = self.labelled if labelled_only else self.frame
        return sorted(f[self.spec.period].unique())

    def rows(self, periods: list[pd.Timestamp], labelled_only: bool = True) -> pd.DataFrame:
        f = self.labelled if labelled_only else self.frame
        return f[f[self.spec.period].isin(periods)]

    def labelled_content_hash(self, cols: tuple[str, ...]) -> np.ndarray:
        """``content_hash(self.labelled, cols)``, computed once per ``frame`` object, label and columns
        (``ml.train.fit_sample`` takes each fit's rows from it)."""
        memo = self.__dict__.setdefault("_content_hash", {})
        c = memo.get((cols, self.spec.label))
        if c is None or c[0] is not self.frame:
            c = memo[cols, self.spec.label] = (self.frame, content_hash(self.labelled, list(cols)))
        return c[1]

    def fingerprint(self) -> str:
        """sha256 of the labelled rows (entity, period, label, features), order-independent. Computed once per
        ``frame`` object and spec (each candidate's train key and registered metadata ask for it)."""
        c = self.__dict__.get("_fingerprint")
        if c is None or c[0] is not self.frame or c[1] != self.spec:
            cols = [self.spec.entity, self.spec.period, self.spec.label, *self.spec.features]
            f = self.labelled[cols].sort_values([self.spec.entity, self.spec.period])
            c = (self.frame, self.spec,
                 hashlib.sha256(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes()).hexdigest())
            self.__dict__["_fingerprint"] = c
        return c[2]


#: The fixed key of every hash that picks rows for fitting (``ml.train.sample_fit``): a constant of the code, the
#: same on every installation (16 bytes, as pandas' ``hash_pandas_object`` wants).
ROW_HASH_KEY = "supervision-ml-1"


def content_columns(frame: pd.DataFrame, spec: PanelSpec) -> list[str]:
    """What a row says, without who it is about: period, label, features, baseline and extras (not the entity)."""
    cols = [spec.period, spec.label, *spec.features, *([spec.baseline] if spec.baseline else []), *spec.extra]
    return [c for c in dict.fromkeys(cols) if c in frame.columns and c != spec.entity]


def content_hash(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """A 64-bit hash of each row's values in ``cols`` under the fixed ``ROW_HASH_KEY`` (uint64 array)."""
    return pd.util.hash_pandas_object(frame[cols], index=False, hash_key=ROW_HASH_KEY).to_numpy()


def canonical_order(frame: pd.DataFrame, spec: PanelSpec) -> pd.DataFrame:
    """The rows in an order that depends on their content only: by period, label and a hash of the content
    (period, label, features, baseline, extras: ``content_columns``, not the entity), a stable sort.

    Fits, the boosting's early-stopping split, the negative sample, bootstrap draws and top-k ties all follow
    row order. A table read without ORDER BY comes back in its physical order (different after another build
    of the same data: issue #17), and the account ids are HMAC tokens under each installation's own key
    (``include.privacy.pseudonymise``), so an order by entity differs between two installations of the same
    world (issue #12). Ordered by content, two rows keep the order they came in only if they are identical in
    everything a model sees, and such rows are interchangeable: the arrays the models fit and are judged on
    are the same. Should two different rows of a period share a hash (a 64-bit collision), the rows are sorted
    by every content column instead (exact, ~10x slower on the account panel)."""
    cols = content_columns(frame, spec)
    h = content_hash(frame, cols)
    out = frame.assign(_content=h).sort_values([spec.period, spec.label, "_content"], kind="mergesort",
                                               na_position="last", ignore_index=True)
    hs = out.pop("_content").to_numpy()
    tie = np.flatnonzero(hs[1:] == hs[:-1])
    for c in cols:
        if not len(tie):
            break
        x = out[c].to_numpy()
        a, b = x[tie], x[tie + 1]
        same = (a == b) | (pd.isna(a) & pd.isna(b))
        if not same.all():
            log.info("%s: two different rows share a content hash; sorting by every content column", c)
            return frame.sort_values(cols, kind="mergesort", na_position="last", ignore_index=True)
    return out


def read_source(source: str, db_url: str | None = None) -> tuple[pd.DataFrame, int]:
    """The raw frame and the line number of its first data row (2 for a CSV with a header, else 1)."""
    p = Path(source)
    if source.lower().endswith((".csv", ".csv.gz")):
        if not p.exists():
            raise PanelError(f"{source}: file not found")
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""]), 2
    if source.lower().endswith((".parquet", ".pq")):
        if not p.exists():
            raise PanelError(f"{source}: file not found")
        return pd.read_parquet(p), 1
    if _TABLE.match(source):
        if db_url is None:
            from include.warehouse.connection import role_url

            db_url = role_url("scorer")
        return read_table(source, db_url), 1
    raise PanelError(f"{source}: not a .csv, .parquet or schema.table source")


_NUMERIC = {20, 21, 23, 700, 701, 1700}  # int8, int2, int4, float4, float8, numeric (PostgreSQL type oids)
_BOOL = 16


def read_table(source: str, db_url: str) -> pd.DataFrame:
    """A warehouse table or view (``schema.table``) as one CSV ``COPY``, parsed by pandas' C reader: a tenth of
    the time of ``read_sql_table``'s row-by-row Python objects on the account panel (~300k rows). Numbers come
    as float (PostgreSQL's Infinity and NaN included), booleans as 0/1, everything else as text; NULL is
    missing. Row order is the server's: ``build`` sorts."""
    import io

    import psycopg
    from psycopg import sql

    schema, table = source.split(".")
    query = sql.SQL("select * from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    buf = io.BytesIO()
    try:
        with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            cur = conn.execute(sql.SQL("{} limit 0").format(query))
            types = {d.name: d.type_code for d in cur.description}
            with cur.copy(sql.SQL("copy ({}) to stdout with (format csv, header true)").format(query)) as copy:
                for block in copy:
                    buf.write(block)
    except psycopg.errors.UndefinedTable:
        raise PanelError(f"{source}: table not found in the warehouse") from None
    buf.seek(0)
    numeric = [c for c, t in types.items() if t in _NUMERIC]
    frame = pd.read_csv(buf, dtype={c: (float if c in numeric else str) for c in types}, keep_default_na=False,
                        na_values={c: ["", "NaN"] if c in numeric else [""] for c in types})
    for c in (c for c, t in types.items() if t == _BOOL):
        frame[c] = frame[c].map({"t": 1.0, "f": 0.0})
    return frame


def _where(source: str, first_line: int, idx) -> str:
    return f"{source}: row {int(idx) + first_line}"


def build(frame: pd.DataFrame, spec: PanelSpec, source: str, first_line: int = 1) -> Panel:
    """Check and type a raw frame; raise PanelError naming source, row and rule."""
    frame = frame.reset_index(drop=True)
    needed = [spec.entity, spec.period, spec.label, *spec.features, *([spec.baseline] if spec.baseline else []),
              *spec.extra]
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise PanelError(f"{source}: columns {missing} not found (rule: named_columns_exist); "
                         f"columns are {list(frame.columns)}")
    if not spec.features:
        raise PanelError(f"{source}: no feature columns named (rule: features_given)")
    out = pd.DataFrame({spec.entity: frame[spec.entity].astype(str)})
    bad_entity = frame[spec.entity].isna() | (out[spec.entity].str.strip() == "")
    if bad_entity.any():
        raise PanelError(f"{_where(source, first_line, bad_entity.idxmax())}: empty {spec.entity!r} "
                         "(rule: entity_not_null)")
    if spec.label in spec.features:
        raise PanelError(f"{source}: the label {spec.label!r} is also listed as a feature (rule: label_not_a_feature)")
    period, i = parse_series(frame[spec.period])
    if i is not None:
        raise PanelError(f"{_where(source, first_line, i)}: {spec.period}={frame[spec.period].iat[i]!r} is not a "
                         "period: use YYYYQn, YYYY-MM or a date (rule: period_is_date)")
    out[spec.period] = period
    label = pd.to_numeric(frame[spec.label], errors="coerce")
    bad = (frame[spec.label].notna() & label.isna()) | (label.notna() & ~label.isin([0, 1]))
    if bad.any():
        i = bad.idxmax()
        raise PanelError(f"{_where(source, first_line, i)}: {spec.label}={frame[spec.label].iat[i]!r} is not 0 or 1 "
                         "(rule: label_is_binary)")
    out[spec.label] = label.astype(float)
    infinite: dict[str, int] = {}
    for col in dict.fromkeys([*spec.features, *([spec.baseline] if spec.baseline else []), *spec.extra]):
        raw = frame[col]
        if raw.dtype == bool:
            raw = raw.astype(int)
        num = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & num.isna()
        if bad.any():
            i = bad.idxmax()
            raise PanelError(f"{_where(source, first_line, i)}: {col}={raw.iat[i]!r} is not a number "
                             "(rule: feature_is_numeric)")
        num = num.astype(float)
        n_inf = int(np.isinf(num).sum())
        if n_inf:
            infinite[col] = n_inf
            if col not in spec.features:  # a rule score or flag: the most extreme finite value
                fin = num[np.isfinite(num)]
                num = num.clip(fin.min() if len(fin) else 0.0, fin.max() if len(fin) else 0.0)
        out[col] = num
    dup = out.duplicated([spec.entity, spec.period], keep=False)
    if dup.any():
        rows = [int(i) + first_line for i in np.flatnonzero(dup)[:5]]
        raise PanelError(f"{source}: rows {rows} repeat the same ({spec.entity}, {spec.period}) "
                         "(rule: entity_period_unique)")
    panel = Panel(canonical_order(out, spec), spec, source, {"infinite_values": infinite})
    for col, n in infinite.items():
        log.warning("%s: %d infinite values in %s, clipped to the training percentile range (rule: inf_clipped)",
                    source, n, col)
    log.info("panel %s: %d rows, %d labelled, %d positive, %d periods, %d features", source, len(out),
             len(panel.labelled), int(panel.labelled[spec.label].sum()), len(panel.periods(False)), len(spec.features))
    return panel


def load(source: str, spec: PanelSpec, db_url: str | None = None) -> Panel:
    frame, first = read_source(source, db_url)
    return build(frame, spec, source, first)
