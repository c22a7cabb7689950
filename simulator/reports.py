"""Quarterly prudential reports derived from the loan detail and the latent health.

Consistency with the detail is exact (same int64 fen): for every lender and quarter end,
``asset_quality`` category balances, ``total_loans`` (also in ``concentration`` and
``deposits_loans``), NPL, overdue loans, real-estate development loans, mortgages, personal/corporate
loans, the largest single customer's and the top ten customers' exposures are sums over that
institution's LOAN rows of the quarter-end month. ``concentration.net_capital`` is the capital report's
``total_capital``.

The balance sheet is built around the loan book: total assets = loans / loan share (type-specific)
plus a small floor; RWA = total assets x density; deposits = loans / loan-to-deposit ratio. Ratios that
are not pinned by the detail (capital adequacy, liquidity ratio, LCR, provisions coverage, ROA,
solvency) follow the latent health ``z`` plus noise, so a deteriorating institution shows rising NPL,
falling capital, liquidity and profit together.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from include.registry.datasets import (
    ASSET_QUALITY,
    CONCENTRATION,
    DEPOSITS_LOANS,
    LIQUIDITY,
    PROFITABILITY,
    SOLVENCY,
)
from simulator.banking import BANK_TYPES, LENDER_TYPES
from simulator.health import HealthPanel
from simulator.prudential import capital_reports
from simulator.rng import Extension, stream

LOAN_SHARE = {"consumer_finance": (0.85, 0.92), "financial_leasing": (0.8, 0.9), "trust": (0.3, 0.45)}
BANK_LOAN_SHARE = (0.45, 0.6)


def loan_book(loan_frame: pd.DataFrame, quarters: list[date]) -> pd.DataFrame:
    """Aggregates of the LOAN rows at each quarter end, per institution (amounts int64 fen)."""
    qe = np.array(quarters, dtype="datetime64[D]")
    lf = loan_frame[np.isin(loan_frame["report_period"].to_numpy().astype("datetime64[D]"), qe)]
    key = ["institution_code", "report_period"]
    bal = lf["balance"].to_numpy()
    cat = lf["five_category"].to_numpy()
    od = lf["overdue_days"].to_numpy()
    purpose = lf["purpose"].to_numpy()
    person = lf["customer_type"].to_numpy() == "个人"
    cols = {
        "loans_normal": cat == "正常", "loans_special_mention": cat == "关注", "loans_substandard": cat == "次级",
        "loans_doubtful": cat == "可疑", "loans_loss": cat == "损失",
        "npl_balance": np.isin(cat, ["次级", "可疑", "损失"]), "overdue_loans": od > 0, "overdue_90_loans": od > 90,
        "real_estate_development_loans": purpose == "房地产开发", "mortgage_loans": purpose == "个人住房按揭",
        "personal_loans": person, "corporate_loans": ~person,
    }
    parts = pd.DataFrame({k: np.where(m, bal, 0) for k, m in cols.items()})
    parts["total_loans"] = bal
    for k in key:
        parts[k] = lf[k].to_numpy()
    agg = parts.groupby(key, sort=True).sum()
    cust = lf.groupby(key + ["customer_id"], sort=False)["balance"].sum().reset_index()
    cust = cust.sort_values(key + ["balance"], ascending=[True, True, False])
    cust["rank"] = cust.groupby(key).cumcount()
    agg["largest_customer_exposure"] = cust[cust["rank"] == 0].set_index(key)["balance"]
    agg["top10_customer_exposure"] = cust[cust["rank"] < 10].groupby(key)["balance"].sum()
    return agg.reset_index()


def _grid(codes: list[str], quarters: list[date]) -> pd.DataFrame:
    return pd.DataFrame({
        "institution_code": np.repeat(codes, len(quarters)),
        "report_period": np.tile(np.array(quarters, dtype="datetime64[D]"), len(codes)),
    })


def _fen(a) -> np.ndarray:
    return np.rint(np.asarray(a, dtype=float)).astype(np.int64)


def prudential_reports(seed: int, inst: pd.DataFrame, health: HealthPanel, quarters: list[date],
                       loan_frame: pd.DataFrame | None = None, *, t_base: int | None = None,
                       book: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every quarterly report: capital_report, asset_quality, concentration, profitability for lenders;
    liquidity and deposits_loans for banks; solvency and profitability for insurers.

    The loan figures come from ``loan_frame`` (the LOAN rows) or, when the loans stream, from ``book``
    (:func:`loan_book` of the quarter-end months, made a month at a time).

    ``t_base`` (default: all) is the number of base-window quarters; the noise of later quarters
    (``simulate advance``) comes from their own streams, so the base quarters do not change."""
    rng = stream(seed, "reports")
    t = len(quarters)
    tb = t if t_base is None else t_base
    ext = Extension(seed, "reports", quarters, tb)
    types = inst["institution_type"].to_numpy()
    lenders = inst[np.isin(types, LENDER_TYPES)].reset_index(drop=True)
    codes = lenders["institution_code"].tolist()
    n = len(lenders)
    z = health.z[health.rows_of(codes)]
    if book is None:
        book = loan_book(loan_frame, quarters)
    book = _grid(codes, quarters).merge(book, how="left",
                                        on=["institution_code", "report_period"])
    num = book.columns.difference(["institution_code", "report_period"])
    book[num] = book[num].fillna(0).astype(np.int64)
    L = book["total_loans"].to_numpy().reshape(n, t).astype(float)

    ltype = lenders["institution_type"].to_numpy()
    lo = np.array([LOAN_SHARE.get(x, BANK_LOAN_SHARE)[0] for x in ltype])
    hi = np.array([LOAN_SHARE.get(x, BANK_LOAN_SHARE)[1] for x in ltype])
    share = (lo + (hi - lo) * rng.random(n))[:, None] * np.exp(ext.normal(rng, 0, 0.01, n))
    floor = 10 ** (rng.uniform(7.0, 8.0, size=n))[:, None] * 100  # 10-100 million yuan of other assets
    assets = L / share + floor
    density = rng.uniform(0.55, 0.7, size=n)[:, None] + ext.normal(rng, 0, 0.005, n)
    rwa = _fen(assets * density)
    cap = capital_reports(stream(seed, "capital"), lenders, health, quarters, total_rwa_fen=rwa,
                          ext=Extension(seed, "capital", quarters, tb))
    out: dict[str, pd.DataFrame] = {"capital_report": cap}

    # asset quality: provisions cover NPL well at healthy lenders, less so at weak ones
    npl = book["npl_balance"].to_numpy().reshape(n, t).astype(float)
    cover = np.clip(1.9 + 0.25 * z + ext.normal(rng, 0, 0.1, n), 0.6, 4.0)
    aq = book[ASSET_QUALITY.column_names[:-1]].copy()
    aq["loan_loss_provision"] = _fen(npl * cover + 0.01 * (L - npl)).ravel()
    out["asset_quality"] = aq[ASSET_QUALITY.column_names]

    conc = book[["institution_code", "report_period", "largest_customer_exposure", "top10_customer_exposure",
                 "real_estate_development_loans", "mortgage_loans", "total_loans"]].copy()
    conc["net_capital"] = cap.set_index(["institution_code", "report_period"]).reindex(
        pd.MultiIndex.from_frame(conc[["institution_code", "report_period"]]))["total_capital"].to_numpy()
    out["concentration"] = conc[CONCENTRATION.column_names]

    # profitability: ROA (annualised) ~ 0.8% at z = 0, losses when z is very low
    roa_q = (0.002 + 0.0012 * z + ext.normal(rng, 0, 0.0004, n))
    prev = np.concatenate([assets[:, :1], assets[:, :-1]], axis=1)
    avg = (assets + prev) / 2
    income = avg * rng.uniform(0.006, 0.01, size=n)[:, None]
    prof = _grid(codes, quarters)
    prof["operating_income"] = _fen(income).ravel()
    prof["net_profit"] = _fen(avg * roa_q).ravel()
    prof["total_assets"] = _fen(assets).ravel()
    prof["average_total_assets"] = _fen(avg).ravel()

    # banks: deposits and liquidity
    is_bank = np.isin(ltype, BANK_TYPES)
    bcodes = [c for c, b in zip(codes, is_bank, strict=True) if b]
    nb = int(is_bank.sum())
    zb, Lb, Ab = z[is_bank], L[is_bank], assets[is_bank]
    ldr = rng.uniform(0.65, 0.85, size=nb)[:, None] + ext.normal(rng, 0, 0.01, nb)
    dep = Lb / ldr + floor[is_bank] * 0.8
    pshare = rng.uniform(0.4, 0.65, size=nb)[:, None]
    dl = _grid(bcodes, quarters)
    dl["total_deposits"] = _fen(dep).ravel()
    dl["personal_deposits"] = _fen(dep * pshare).ravel()
    dl["corporate_deposits"] = dl["total_deposits"] - dl["personal_deposits"]
    # loans from the detail, exactly
    bb = book[book["institution_code"].isin(bcodes)]
    dl["total_loans"] = bb["total_loans"].to_numpy()
    dl["personal_loans"] = bb["personal_loans"].to_numpy()
    dl["corporate_loans"] = bb["corporate_loans"].to_numpy()
    out["deposits_loans"] = dl[DEPOSITS_LOANS.column_names]
    la_share = np.clip(0.2 + 0.05 * zb + ext.normal(rng, 0, 0.01, nb), 0.04, 0.6)
    la = Ab * la_share
    ll = dep * np.clip(rng.uniform(0.45, 0.6, size=nb)[:, None] + ext.normal(rng, 0, 0.01, nb), 0.2, 0.9)
    hqla = la * rng.uniform(0.6, 0.8, size=nb)[:, None]
    nco = ll * rng.uniform(0.2, 0.35, size=nb)[:, None] * np.clip(1 - 0.08 * zb, 0.7, 1.6)
    liq = _grid(bcodes, quarters)
    liq["liquid_assets"] = _fen(la).ravel()
    liq["liquid_liabilities"] = np.maximum(_fen(ll).ravel(), 1)
    liq["hqla"] = _fen(hqla).ravel()
    liq["net_cash_outflows_30d"] = np.maximum(_fen(nco).ravel(), 1)
    out["liquidity"] = liq[LIQUIDITY.column_names]

    # insurers: solvency (+ profitability)
    ins = inst[types == "insurer"].reset_index(drop=True)
    ni = len(ins)
    icodes = ins["institution_code"].tolist()
    zi = health.z[health.rows_of(icodes)] if ni else np.zeros((0, t))
    tier = ins["size_tier"].to_numpy().astype(float)
    ia = 10 ** (12.0 - 0.6 * tier + rng.normal(0, 0.15, size=ni))[:, None] * 100 \
        * np.exp(np.cumsum(ext.normal(rng, 0.015, 0.01, ni), axis=1))
    minimum = ia * rng.uniform(0.03, 0.05, size=ni)[:, None]
    comp = np.clip(2.2 + 0.45 * zi + ext.normal(rng, 0, 0.08, ni), 0.6, 5)
    core_share = np.clip(rng.uniform(0.6, 0.9, size=ni)[:, None] + ext.normal(rng, 0, 0.01, ni), 0.3, 1.0)
    sol = _grid(icodes, quarters)
    sol["actual_capital"] = _fen(minimum * comp).ravel()
    sol["core_capital"] = np.minimum(_fen(minimum * comp * core_share).ravel(), sol["actual_capital"])
    sol["minimum_capital"] = np.maximum(_fen(minimum).ravel(), 1)
    out["solvency"] = sol[SOLVENCY.column_names]
    iprev = np.concatenate([ia[:, :1], ia[:, :-1]], axis=1)
    iavg = (ia + iprev) / 2
    ip = _grid(icodes, quarters)
    ip["operating_income"] = _fen(iavg * rng.uniform(0.02, 0.04, size=ni)[:, None]).ravel()
    ip["net_profit"] = _fen(iavg * (0.0025 + 0.001 * zi + ext.normal(rng, 0, 0.0005, ni))).ravel()
    ip["total_assets"] = _fen(ia).ravel()
    ip["average_total_assets"] = _fen(iavg).ravel()
    prof = pd.concat([prof, ip], ignore_index=True)
    order = {c: i for i, c in enumerate(inst["institution_code"])}
    prof = prof.sort_values(["institution_code", "report_period"], key=lambda s: s.map(order) if s.name ==
                            "institution_code" else s, kind="stable").reset_index(drop=True)
    out["profitability"] = prof[PROFITABILITY.column_names]
    return out
