"""What a run simulates, held in memory before it is written: :class:`World` (every dataset as a
frame, or made a month at a time when the preset streams it) and :class:`LoanDetail` (what the LOAN and
GUARANTEE snapshots are made of). :func:`simulator.build.build_world` makes a world;
:func:`simulator.writer.write_world` writes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from include.registry.datasets import DATASETS
from simulator import banking as bk
from simulator.frames import dates, guarantee_frame, loan_frame
from simulator.health import HealthPanel
from simulator.history import History
from simulator.loan_months import month_snapshots
from simulator.patterns import Patterns
from simulator.presets import Preset
from simulator.reports import loan_book
from simulator.transactions import TxnContext, month_transactions
from simulator.universe import Universe


@dataclass
class World:
    """Everything simulated for one run, before it is written.

    ``periods`` are quarter ends (prudential reports, ratings, ``health``); ``months`` are month ends
    (detail datasets; every submission is for a month). ``frames`` maps dataset name -> all its rows
    (money as int64 fen); ``transaction`` is absent when the preset streams it, ``loan`` and
    ``guarantee`` when it streams loans (``loan_detail`` makes them a month at a time).
    """

    preset: Preset
    seed: int
    periods: list[date]
    universe: Universe
    health: HealthPanel
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    months: list[date] = field(default_factory=list)
    persons: pd.DataFrame | None = None
    firms: pd.DataFrame | None = None
    shareholders: pd.DataFrame | None = None
    developers: pd.DataFrame | None = None  # quarterly "three red lines" balance sheets
    banking: bk.Banking | None = None
    patterns: Patterns | None = None
    schemes: pd.DataFrame | None = None  # scheme_id, firm_uscc, start_month, collapse_month, n_investors, ...
    events: pd.DataFrame | None = None  # institution events (ground truth)
    submitted_at: dict = field(default_factory=dict)  # (code, month) -> datetime
    lateness: pd.DataFrame | None = None
    txn_context: TxnContext | None = None
    health_ahead: HealthPanel | None = None  # ``health`` plus the quarter of the last month if not yet reported
    base_months: int | None = None  # months of the base window (the rest continue it: ``simulate advance``)
    loan_detail: LoanDetail | None = None  # set when the preset streams loans (``loan``/``guarantee`` not in frames)
    overdue_firms: pd.DataFrame | None = None  # uscc, first_overdue_month (external feeds) when loans stream
    history: History | None = None  # prudential history before the window (Preset.prudential_history_quarters)

    # ---- month access (the writer, defect injection and `simulate advance` go through these)
    def transactions(self, m: int) -> pd.DataFrame:
        """TRANSACTION rows of month index ``m`` (from memory, or generated when streaming)."""
        if "transaction" in self.frames:
            f = self.frames["transaction"]
            return f[f["report_period"].to_numpy().astype("datetime64[D]") == np.datetime64(self.months[m], "D")]
        return month_transactions(self.txn_context, m)

    def loans(self, m: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """LOAN and GUARANTEE rows of month index ``m`` (from memory, or made when streaming)."""
        if self.loan_detail is None:
            target = np.datetime64(self.months[m], "D")
            return tuple(f[f["report_period"].to_numpy().astype("datetime64[D]") == target]
                         for f in (self.frames["loan"], self.frames["guarantee"]))
        return self.loan_detail.frames(self.loan_detail.snapshots([m]))

    def month_frames(self, m: int, transactions: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
        """Every dataset's rows for month index ``m``, in registry order (empty ones left out);
        ``transactions`` are the month's TRANSACTION rows if already made."""
        target = np.datetime64(self.months[m], "D")
        out = {}
        streamed = dict(zip(("loan", "guarantee"), self.loans(m), strict=True)) if self.loan_detail else {}
        for name, ds in DATASETS.items():
            if name == "transaction":
                f = self.transactions(m) if transactions is None else transactions
            elif name in streamed:
                f = streamed[name]
            elif name in self.frames:
                f = self.frames[name]
                f = f[f[ds.period_column].to_numpy().astype("datetime64[D]") == target]
            else:
                continue
            if len(f):
                out[name] = f
        return out


@dataclass
class LoanDetail:
    """What the LOAN and GUARANTEE rows are made of (loans, guarantees, the lenders' health, the
    under-classification draws); :meth:`snapshots` and :meth:`frames` make any months' rows, all at once
    (in-memory presets) or one month at a time (``Preset.stream_loans``: memory bounded by a month)."""

    inst: pd.DataFrame
    persons: pd.DataFrame
    firms: pd.DataFrame
    loans: pd.DataFrame
    guarantees: pd.DataFrame
    months: list[date]
    health: HealthPanel
    hide: np.ndarray

    def snapshots(self, month_idx: list[int] | None = None) -> pd.DataFrame:
        return month_snapshots(self.loans, self.months, self.health, self.hide, month_idx)

    def frames(self, snaps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The LOAN and GUARANTEE frames of ``snaps`` (sorted by their keys, so independent of the
        snapshots' order)."""
        return (loan_frame(self.inst, self.persons, self.firms, self.loans, snaps, self.months),
                guarantee_frame(self.inst, self.persons, self.firms, self.loans, self.guarantees, snaps, self.months))

    def summaries(self, quarters: list[date]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
        """One pass month by month: (the under-classified snapshots ordered as
        :func:`~simulator.loan_months.loan_snapshots` orders them, the quarter-end loan books of
        :func:`loan_book`, firms' first overdue month)."""
        qe = set(quarters)
        under, books, overdue = [], [], []
        is_firm = self.loans["holder_type"].to_numpy() == 1
        uscc = self.firms["uscc"].to_numpy()[np.where(is_firm, self.loans["holder_idx"].to_numpy(), 0)]
        for m, month in enumerate(self.months):
            s = self.snapshots([m])
            under.append(s[s["understated"].to_numpy()])
            od = s[(s["overdue_days"].to_numpy() > 0) & is_firm[s["li"].to_numpy()]]
            overdue.append(pd.DataFrame({"borrower_uscc": uscc[od["li"].to_numpy()],
                                         "report_period": dates(self.months, od["mi"].to_numpy()),
                                         "overdue_days": od["overdue_days"].to_numpy()}))
            if month in qe:
                books.append(loan_book(loan_frame(self.inst, self.persons, self.firms, self.loans, s, self.months),
                                       quarters))
        understated = pd.concat(under, ignore_index=True).sort_values(["li", "mi"], kind="stable")
        book = (pd.concat(books, ignore_index=True).sort_values(["institution_code", "report_period"], kind="stable")
                .reset_index(drop=True))
        from simulator.external.inputs import _overdue_from_frames

        return understated, book, _overdue_from_frames({"loan": pd.concat(overdue, ignore_index=True)})

