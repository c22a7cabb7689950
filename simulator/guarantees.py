"""Guarantees on corporate loans: the planted circles and chains (see :mod:`.banking`), then the
background (a share of corporate loans guaranteed by another firm or the borrower's legal
representative)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def build_guarantees(rng: np.random.Generator, loans: pd.DataFrame, firms: pd.DataFrame, *, share: float,
                     circles: list[dict], chains: list[dict]) -> pd.DataFrame:
    """One row per guarantee: loan row ``li``, guarantor_type (firm/person), guarantor firm index or
    person resident ID, amount (fen), type index. Planted circles/chains first, then the background."""
    rows = []
    for gr in circles:
        lr = gr["loan_rows"]
        m = len(lr)
        # member i's loan is guaranteed by member i+1 (so guarantor -> borrower closes the circle)
        rows.append(pd.DataFrame({"li": lr, "g_firm": gr["members"][(np.arange(m) + 1) % m],
                                  "planted": f"circle:{gr['group']}"}))
    for gr in chains:
        lr = gr["loan_rows"]
        m = len(lr)
        # A -> B -> C -> D: member i guarantees member i+1's loan (the head's loan has no planted guarantor)
        rows.append(pd.DataFrame({"li": lr[1:], "g_firm": gr["members"][: m - 1], "planted": f"chain:{gr['group']}"}))
    planted = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["li", "g_firm", "planted"])
    planted_firms = set(np.concatenate([g["members"] for g in circles + chains]).tolist()) if circles or chains \
        else set()
    corp = np.flatnonzero((loans["holder_type"].to_numpy() == 1) & loans.get(
        "planted_group", pd.Series([None] * len(loans))).isna().to_numpy())
    pick = corp[rng.random(len(corp)) < share]
    by_firm = rng.random(len(pick)) < 0.7
    active = np.flatnonzero((firms["status"] == "存续").to_numpy())
    active = np.array([f for f in active.tolist() if f not in planted_firms]) if planted_firms else active
    g_firm = active[rng.integers(len(active), size=len(pick))]
    borrower = loans["holder_idx"].to_numpy()[pick]
    g_firm = np.where(g_firm == borrower, active[(np.searchsorted(active, g_firm) + 1) % len(active)], g_firm)
    bg = pd.DataFrame({"li": pick, "g_firm": np.where(by_firm, g_firm, -1), "planted": None})
    g = pd.concat([planted, bg], ignore_index=True)
    g["li"] = g["li"].astype(np.int64)
    g["g_firm"] = g["g_firm"].astype(np.int64)
    contract = loans["contract"].to_numpy()[g["li"].to_numpy()]
    g["amount"] = (contract * rng.choice([1.0, 1.0, 0.8, 0.5], size=len(g))).astype(np.int64)
    g["gtype"] = (rng.random(len(g)) < 0.1).astype(np.int8)
    loans.loc[g["li"].to_numpy(), "collateral"] = 1
    return g
