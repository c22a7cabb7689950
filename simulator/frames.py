"""The detail datasets as the institutions submit them, made from the simulated objects: customers
(corporate and individual), accounts, and the month-end LOAN and GUARANTEE snapshots. Each frame has
the registry's columns in the registry's order, sorted by its key (so it is independent of the order
the objects were made in); money is int64 fen."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from include.registry.datasets import ACCOUNT, CUSTOMER_CORPORATE, CUSTOMER_INDIVIDUAL, GUARANTEE, LOAN
from simulator import banking as bk


def dates(months: list[date], idx: np.ndarray) -> np.ndarray:
    return np.array(months, dtype="datetime64[D]")[idx]


def customer_frames(inst, persons, firms, customers, months) -> dict[str, pd.DataFrame]:
    c = customers.copy()
    c["report_period"] = dates(months, np.maximum(c["onboard_month"].to_numpy(), 0))
    corp = c[c["holder_type"] == 1]
    fi = corp["holder_idx"].to_numpy()
    rid_name = pd.Series(persons["name"].to_numpy(), index=persons["resident_id"].to_numpy())
    legal = firms["legal_rep_resident_id"].to_numpy()[fi]
    cc = pd.DataFrame({
        "institution_code": corp["institution_code"].to_numpy(), "report_period": corp["report_period"].to_numpy(),
        "customer_id": corp["customer_id"].to_numpy(), "uscc": firms["uscc"].to_numpy()[fi],
        "name": firms["name"].to_numpy()[fi], "industry_code": firms["industry_code"].to_numpy()[fi],
        "region_code": firms["region_code"].to_numpy()[fi],
        "registered_capital": firms["registered_capital"].to_numpy()[fi] * 100,
        "founded_date": firms["founded_date"].to_numpy()[fi], "legal_rep_name": rid_name.reindex(legal).to_numpy(),
        "legal_rep_resident_id": legal, "onboard_date": corp["since"].to_numpy(),
    })
    # A firm cannot become a customer before it exists (registry rule customer_corporate_founded_before_onboard).
    cc["onboard_date"] = np.maximum(cc["onboard_date"].to_numpy(), cc["founded_date"].to_numpy())
    ind = c[c["holder_type"] == 0]
    pi = ind["holder_idx"].to_numpy()
    ci = pd.DataFrame({
        "institution_code": ind["institution_code"].to_numpy(), "report_period": ind["report_period"].to_numpy(),
        "customer_id": ind["customer_id"].to_numpy(), "resident_id": persons["resident_id"].to_numpy()[pi],
        "name": persons["name"].to_numpy()[pi],
        "sex": np.where(persons["sex"].to_numpy()[pi] == "M", "男", "女").astype(object),
        "birth_date": persons["birth_date"].to_numpy()[pi], "phone": persons["phone"].to_numpy()[pi],
        "region_code": persons["region_code"].to_numpy()[pi], "onboard_date": ind["since"].to_numpy(),
    })
    ci["onboard_date"] = np.maximum(ci["onboard_date"].to_numpy(), ci["birth_date"].to_numpy())
    order = ["institution_code", "report_period", "customer_id"]
    return {"customer_corporate": sorted_by(cc, order)[CUSTOMER_CORPORATE.column_names],
            "customer_individual": sorted_by(ci, order)[CUSTOMER_INDIVIDUAL.column_names]}


def sorted_by(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.sort_values(cols, kind="stable").reset_index(drop=True)


def account_frame(accounts: pd.DataFrame, months: list[date]) -> pd.DataFrame:
    a = accounts
    base = pd.DataFrame({
        "institution_code": a["institution_code"].to_numpy(),
        "report_period": dates(months, np.clip(a["open_month"].to_numpy(), 0, len(months) - 1)),
        "account_no": a["account_no"].to_numpy(), "customer_id": a["customer_id"].to_numpy(),
        "customer_type": np.where(a["holder_type"].to_numpy() == 1, "对公", "个人").astype(object),
        "account_type": a["account_type"].to_numpy(), "currency": "CNY", "open_date": a["open_date"].to_numpy(),
        "status": "正常",
    })
    cm = a["close_month"].to_numpy()
    changed = (cm >= 0) & (cm < len(months)) & (cm > np.maximum(a["open_month"].to_numpy(), 0))
    frozen = base[changed].copy()
    frozen["report_period"] = dates(months, cm[changed])
    frozen["status"] = "冻结"
    return sorted_by(pd.concat([base, frozen], ignore_index=True),
                   ["institution_code", "report_period", "account_no"])[ACCOUNT.column_names]


def loan_frame(inst, persons, firms, loans, snaps, months) -> pd.DataFrame:
    li = snaps["li"].to_numpy()
    ht = loans["holder_type"].to_numpy()[li]
    hi = loans["holder_idx"].to_numpy()[li]
    is_f = ht == 1
    uscc = np.where(is_f, firms["uscc"].to_numpy()[np.where(is_f, hi, 0)], None)
    rid = np.where(~is_f, persons["resident_id"].to_numpy()[np.where(~is_f, hi, 0)], None)
    ind = np.where(is_f, firms["industry_code"].to_numpy()[np.where(is_f, hi, 0)], None)
    f = pd.DataFrame({
        "institution_code": inst["institution_code"].to_numpy()[loans["inst_idx"].to_numpy()[li]],
        "report_period": dates(months, snaps["mi"].to_numpy()),
        "loan_id": loans["loan_id"].to_numpy()[li], "customer_id": loans["customer_id"].to_numpy()[li],
        "customer_type": np.where(is_f, "对公", "个人").astype(object), "borrower_uscc": uscc,
        "borrower_resident_id": rid, "industry_code": ind,
        "purpose": np.array(bk.PURPOSES, dtype=object)[loans["purpose"].to_numpy()[li]],
        "collateral_type": np.array(bk.COLLATERAL_TYPES, dtype=object)[loans["collateral"].to_numpy()[li]],
        "contract_amount": loans["contract"].to_numpy()[li], "balance": snaps["balance"].to_numpy(),
        "five_category": np.array(bk.FIVE_CATEGORIES, dtype=object)[snaps["category"].to_numpy()],
        "overdue_days": snaps["overdue_days"].to_numpy(), "interest_rate": loans["rate"].to_numpy()[li],
        "start_date": loans["start_date"].to_numpy()[li], "maturity_date": loans["maturity_date"].to_numpy()[li],
    })
    return sorted_by(f, ["institution_code", "report_period", "loan_id"])[LOAN.column_names]


def guarantee_frame(inst, persons, firms, loans, guarantees, snaps, months) -> pd.DataFrame:
    g = guarantees.reset_index(drop=True)
    g["guarantee_id"] = np.char.add("G", np.char.zfill((np.arange(len(g)) + 1).astype(str), 10)).astype(object)
    rows = snaps[["li", "mi"]].merge(g, on="li", how="inner")
    li = rows["li"].to_numpy()
    borrower = loans["holder_idx"].to_numpy()[li]
    by_firm = rows["g_firm"].to_numpy() >= 0
    gf = np.where(by_firm, rows["g_firm"].to_numpy(), 0)
    legal = firms["legal_rep_resident_id"].to_numpy()[borrower]
    pname = pd.Series(persons["name"].to_numpy(), index=persons["resident_id"].to_numpy())
    f = pd.DataFrame({
        "institution_code": inst["institution_code"].to_numpy()[loans["inst_idx"].to_numpy()[li]],
        "report_period": dates(months, rows["mi"].to_numpy()),
        "guarantee_id": rows["guarantee_id"].to_numpy(), "loan_id": loans["loan_id"].to_numpy()[li],
        "borrower_uscc": firms["uscc"].to_numpy()[borrower],
        "guarantor_type": np.where(by_firm, "企业", "个人").astype(object),
        "guarantor_uscc": np.where(by_firm, firms["uscc"].to_numpy()[gf], None),
        "guarantor_resident_id": np.where(by_firm, None, legal),
        "guarantor_name": np.where(by_firm, firms["name"].to_numpy()[gf], pname.reindex(legal).to_numpy()),
        "guarantee_amount": rows["amount"].to_numpy(),
        "guarantee_type": np.array(bk.GUARANTEE_TYPES, dtype=object)[rows["gtype"].to_numpy()],
        "start_date": loans["start_date"].to_numpy()[li],
        "end_date": (loans["maturity_date"].to_numpy()[li].astype("datetime64[D]") + np.timedelta64(730, "D")),
    })
    return sorted_by(f, ["institution_code", "report_period", "guarantee_id"])[GUARANTEE.column_names]

