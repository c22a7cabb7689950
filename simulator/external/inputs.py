"""What the external feeds talk about: the entities of a simulated world, as plain frames.

:class:`ExternalInputs` is the only thing the feed generators read. :func:`from_world` adapts the
simulator's :class:`~simulator.World`; :func:`synthetic_inputs` builds a small stand-alone world
(institutions and health from the simulator core, firms / persons / schemes of its own) for tests and
for running the feeds before the full simulator is available.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from simulator import geography, ids
from simulator.external import vocab
from simulator.periods import month_end, month_ends, quarter_ends
from simulator.rng import stream

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "institutions": ("institution_code", "name", "institution_type", "bureau_code", "region_code", "uscc"),
    "firms": ("uscc", "name", "short_name", "industry_code", "industry_name", "region_code", "registered_capital",
              "founded_date", "status", "legal_rep_resident_id", "is_developer"),
    "persons": ("resident_id", "name", "birth_date", "sex", "region_code", "phone"),
    "schemes": ("scheme_id", "firm_uscc", "start_month", "collapse_month", "n_investors"),
    "quarter_health": ("institution_code", "period", "z", "deteriorating"),
}
#: Column names the simulator core's ``HealthPanel.long()`` uses, mapped to ours.
_HEALTH_ALIASES = {"report_period": "period", "health_z": "z", "planted_deteriorating": "deteriorating"}
_WORLD_ATTRS = ("universe", "firms", "persons", "schemes", "health", "months")


def _to_date(v) -> date | None:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return pd.Timestamp(v).date()


def _month_end_of(v) -> date | None:
    d = _to_date(v)
    return None if d is None else month_end(d.year, d.month)


@dataclass
class ExternalInputs:
    """The entities the feeds mention (columns :data:`REQUIRED_COLUMNS`; extra columns are ignored).

    ``quarter_health``: latent health per institution and quarter end (lower ``z`` = worse).
    ``months``: the month ends the world covers (the feeds publish month by month).
    ``schemes``: ``start_month`` / ``collapse_month`` are dates within the month (``collapse_month`` may be
    missing for a scheme still running, or lie beyond ``months``). ``overdue_firms`` (optional): uscc and
    ``first_overdue_month`` of firms whose loans went overdue; they show up more in court records.
    ``developers`` (optional): the developers' quarterly balance sheets (columns of
    :func:`simulator.entities.developer_financials`), published by the ``developer_financials`` feed.
    """

    institutions: pd.DataFrame
    firms: pd.DataFrame
    persons: pd.DataFrame
    schemes: pd.DataFrame
    quarter_health: pd.DataFrame
    months: list[date]
    seed: int
    overdue_firms: pd.DataFrame | None = None
    developers: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        self.quarter_health = self.quarter_health.rename(columns=_HEALTH_ALIASES)
        for attr, cols in REQUIRED_COLUMNS.items():
            frame = getattr(self, attr)
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise ValueError(f"ExternalInputs.{attr} lacks columns {missing}")
        if not len(self.institutions) or not len(self.firms) or not len(self.persons):
            raise ValueError("ExternalInputs needs at least one institution, firm and person")
        self.months = sorted({_month_end_of(m) for m in self.months})
        if not self.months:
            raise ValueError("ExternalInputs.months is empty")
        qh = self.quarter_health.copy()
        qh["period"] = [_to_date(p) for p in qh["period"]]
        qh["z"] = qh["z"].astype(float)
        qh["deteriorating"] = qh["deteriorating"].astype(bool)
        self.quarter_health = qh
        sc = self.schemes.copy()
        sc["start_month"] = [_month_end_of(v) for v in sc["start_month"]]
        sc["collapse_month"] = pd.Series([_month_end_of(v) for v in sc["collapse_month"]], dtype=object)
        self.schemes = sc
        if self.overdue_firms is None:
            self.overdue_firms = pd.DataFrame({"uscc": pd.Series(dtype=str),
                                               "first_overdue_month": pd.Series(dtype=object)})
        else:
            od = self.overdue_firms.copy()
            od["first_overdue_month"] = [_month_end_of(v) for v in od["first_overdue_month"]]
            self.overdue_firms = od
        self.seed = int(self.seed)


def _overdue_from_frames(frames: dict) -> pd.DataFrame | None:
    """Best effort: firms with overdue loans from a ``loan`` detail frame, if it carries a borrower USCC."""
    loan = frames.get("loan") if isinstance(frames, dict) else None
    if loan is None or "overdue_days" not in loan.columns:
        return None
    ucol = next((c for c in ("borrower_uscc", "customer_uscc", "uscc") if c in loan.columns), None)
    pcol = next((c for c in ("report_month", "report_period", "period") if c in loan.columns), None)
    if ucol is None or pcol is None:
        return None
    od = loan.loc[loan["overdue_days"].fillna(0) > 0, [ucol, pcol]]
    od = od.groupby(ucol, as_index=False)[pcol].min()
    return od.rename(columns={ucol: "uscc", pcol: "first_overdue_month"})


def from_world(world) -> ExternalInputs:
    """Adapt a simulator :class:`~simulator.World` (needs ``universe``, ``firms``, ``persons``,
    ``schemes``, ``health`` and ``months``). Raises AttributeError naming what is missing."""
    missing = [a for a in _WORLD_ATTRS if getattr(world, a, None) is None]
    if missing:
        raise AttributeError(
            f"World lacks {missing}: the external feeds need the firms, persons and schemes of issue #3 "
            "(items 2 and 6) and the month list; use synthetic_inputs() until the simulator provides them")
    overdue = getattr(world, "overdue_firms", None)
    if overdue is None:
        overdue = _overdue_from_frames(getattr(world, "frames", {}))
    return ExternalInputs(
        institutions=world.universe.institutions, firms=world.firms, persons=world.persons,
        schemes=_scheme_dates(world.schemes, list(world.months)), quarter_health=world.health.long(),
        months=list(world.months), seed=int(world.seed), overdue_firms=overdue,
        developers=getattr(world, "developers", None))


def _scheme_dates(schemes: pd.DataFrame, months: list) -> pd.DataFrame:
    """The simulator core keeps a scheme's ``start_month`` / ``collapse_month`` as month *indices* into
    the world's months (a start may be negative: before the window; a collapse of -1: beyond it), while
    :class:`ExternalInputs` wants dates. Integer columns are turned into month ends (a collapse of -1
    into None: still running); date columns are left as they are."""
    sc = schemes.copy()
    first = _month_end_of(months[0])

    def month_at(i: int) -> date:
        y, m = divmod(first.year * 12 + first.month - 1 + int(i), 12)
        return month_end(y, m + 1)

    if pd.api.types.is_integer_dtype(sc["start_month"]):
        sc["start_month"] = [month_at(i) for i in sc["start_month"]]
    if pd.api.types.is_integer_dtype(sc["collapse_month"]):
        sc["collapse_month"] = pd.Series([month_at(i) if i >= 0 else None for i in sc["collapse_month"]],
                                         index=sc.index, dtype=object)
    return sc


# --------------------------------------------------------------------------------------------------
# A stand-alone synthetic world
# --------------------------------------------------------------------------------------------------

def _cities() -> list[tuple[str, str, str]]:
    """(city code, city name, province code) for every city in the geography."""
    return [(c, n, p.code) for p in geography.PROVINCES for c, n in p.cities]


def _person_names(rng: np.random.Generator, n: int) -> list[str]:
    sur = np.array(vocab.SURNAMES)[rng.integers(0, len(vocab.SURNAMES), n)]
    g = np.array(vocab.GIVEN)
    g1 = g[rng.integers(0, len(g), n)]
    g2 = np.where(rng.random(n) < 0.6, g[rng.integers(0, len(g), n)], "")
    return np.char.add(np.char.add(sur, g1), g2).tolist()


def synthetic_inputs(seed: int = 7, n_firms: int = 500, *, n_institutions: int = 20, n_persons: int | None = None,
                     n_months: int = 24, last_month: date = date(2025, 12, 31), scheme_share: float = 0.004,
                     overdue_share: float = 0.03) -> ExternalInputs:
    """A small deterministic world for the feeds: institutions and quarterly health from the simulator
    core, firms with valid USCCs, persons with valid resident IDs, a few schemes and overdue firms.

    ``last_month`` must be a quarter end; ``n_months`` is rounded up to whole quarters. Firm short
    names come from a small syllable pool, so some are shared by two firms (ambiguous mentions).
    """
    from simulator.health import simulate_health
    from simulator.universe import build_universe

    n_quarters = max(1, -(-n_months // 3))
    quarters = quarter_ends(last_month, n_quarters)
    months = month_ends(last_month, n_quarters * 3)
    rng = stream(seed, "external", "synthetic")
    universe = build_universe(stream(seed, "external", "synthetic", "universe"), n_institutions,
                              established_before=months[0])
    inst = universe.institutions
    health = simulate_health(stream(seed, "external", "synthetic", "health"), inst, quarters)

    cities = _cities()
    # persons
    n_p = n_persons or max(2 * n_firms + 200, 50)
    age_days = rng.integers(18 * 365, 88 * 365, n_p)
    birth = (np.datetime64(months[-1]) - age_days.astype("timedelta64[D]")).astype("datetime64[D]")
    sex = np.where(rng.random(n_p) < 0.5, "M", "F")
    pcity = rng.integers(0, len(cities), n_p)
    pregion = [cities[i][0][:4] + f"{d:02d}" for i, d in zip(pcity.tolist(), rng.integers(1, 20, n_p).tolist(),
                                                               strict=True)]
    phone = np.char.add("1", np.char.zfill(rng.integers(30_000_000_00, 99_999_999_99, n_p).astype(str), 10))
    persons = pd.DataFrame({
        "resident_id": ids.make_resident_ids(rng, birth, pregion, sex), "name": _person_names(rng, n_p),
        "birth_date": birth.astype(object), "sex": sex, "region_code": pregion, "phone": phone,
    })

    # firms
    fcity = rng.integers(0, len(cities), n_firms)
    ind = rng.integers(0, len(vocab.INDUSTRIES), n_firms)
    syl = np.array(vocab.SYLLABLES)
    b1, b2 = rng.integers(0, len(syl), n_firms), rng.integers(0, len(syl) - 1, n_firms)
    b2 = np.where(b2 >= b1, b2 + 1, b2)  # two different syllables
    brand = np.char.add(syl[b1], syl[b2]).tolist()
    word_pick = rng.integers(0, 3, n_firms)
    form_pick = rng.integers(0, len(vocab.COMPANY_FORMS), n_firms)
    use_brand_only = rng.random(n_firms) < 0.5
    names, shorts, seen = [], [], set()
    for i in range(n_firms):
        words = vocab.INDUSTRIES[ind[i]][2]
        word = words[word_pick[i] % len(words)]
        city = cities[fcity[i]][1]
        name = f"{city}{brand[i]}{word}{vocab.COMPANY_FORMS[form_pick[i]]}"
        k = 0
        while name in seen:  # full names are unique in a registry
            k += 1
            name = f"{city}{brand[i]}{word}{syl[k % len(syl)]}{vocab.COMPANY_FORMS[form_pick[i]]}"
        seen.add(name)
        names.append(name)
        shorts.append(brand[i] if use_brand_only[i] else f"{brand[i]}{word[:2]}")
    fregion = [cities[i][0][:4] + f"{d:02d}" for i, d in zip(fcity.tolist(), rng.integers(1, 20, n_firms).tolist(),
                                                              strict=True)]
    founded = (np.datetime64("1998-01-01") + rng.integers(0, 26 * 365, n_firms).astype("timedelta64[D]"))
    founded = np.minimum(founded, np.datetime64(months[0]))
    industry_code = np.array([x[0] for x in vocab.INDUSTRIES])[ind]
    firms = pd.DataFrame({
        "uscc": ids.make_uscc(rng, n_firms, fregion), "name": names, "short_name": shorts,
        "industry_code": industry_code, "industry_name": np.array([x[1] for x in vocab.INDUSTRIES])[ind],
        "region_code": fregion,
        "registered_capital": (np.round(rng.lognormal(6.5, 1.2, n_firms)) * 10_000).astype(np.int64),
        "founded_date": founded.astype("datetime64[D]").astype(object),
        "status": np.where(rng.random(n_firms) < 0.8, "存续", "在业"),
        "legal_rep_resident_id": persons["resident_id"].to_numpy()[rng.integers(0, n_p, n_firms)],
        "is_developer": industry_code == "K",
    })

    # schemes: firms in typical industries, growing 6-18 months then collapsing (some after the horizon)
    k = max(2, int(round(n_firms * scheme_share)))
    cand = np.flatnonzero(np.isin(industry_code, vocab.SCHEME_INDUSTRIES))
    cand = cand if len(cand) >= k else np.arange(n_firms)
    pick = np.sort(rng.choice(cand, size=min(k, len(cand)), replace=False))
    nm = len(months)
    start = rng.integers(0, max(1, nm - 6), len(pick))
    dur = rng.integers(6, 19, len(pick))
    collapse = start + dur

    def _shift(i: int) -> date:
        y, m = divmod(months[0].year * 12 + months[0].month - 1 + int(i), 12)
        return month_end(y, m + 1)

    schemes = pd.DataFrame({
        "scheme_id": [f"SCH{i + 1:04d}" for i in range(len(pick))],
        "firm_uscc": firms["uscc"].to_numpy()[pick],
        "start_month": [_shift(s) for s in start.tolist()],
        "collapse_month": [_shift(c) for c in collapse.tolist()],
        "n_investors": rng.integers(200, 5000, len(pick)),
    })
    from simulator.entities import developer_financials

    # from the quarter before the first month: its disclosure is published within the window
    developers = developer_financials(stream(seed, "external", "synthetic", "developers"),
                                      firms.assign(status="存续"), quarter_ends(last_month, n_quarters + 1))
    n_od = int(round(n_firms * overdue_share))
    od = rng.choice(n_firms, size=n_od, replace=False)
    overdue = pd.DataFrame({"uscc": firms["uscc"].to_numpy()[od],
                            "first_overdue_month": [_shift(i) for i in rng.integers(0, nm, n_od).tolist()]})
    log.debug("synthetic external inputs: %d institutions, %d firms, %d persons, %d schemes",
              len(inst), n_firms, n_p, len(schemes))
    return ExternalInputs(institutions=inst, firms=firms, persons=persons, schemes=schemes,
                          quarter_health=health.long(), months=months, seed=seed, overdue_firms=overdue,
                          developers=developers)
