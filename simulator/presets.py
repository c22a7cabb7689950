"""Named sizes for a simulation run, and the knobs behind them.

Every knob is an explicit field of :class:`Preset`; a preset is just a set of values. To try a variant,
``dataclasses.replace(get_preset("small"), n_schemes=30)`` and pass the result to ``build_world`` /
``generate``.

=========  ============  =======  ========  =======  ====================  ==============================
preset     institutions  firms    persons   months   transactions (rows)   use
=========  ============  =======  ========  =======  ====================  ==============================
tiny       10            200      2,000     12       ~20k                  unit tests, ~6 s
small      80            5,000    50,000    24       ~1M                   the demo, ~45-50 s with writing
medium     200           20,000   200,000   24       ~5M                   benchmarks, ~3.5 min
large      400           100,000  1,000,000 24       ~50M                  streaming, memory bounded
=========  ============  =======  ========  =======  ====================  ==============================

Wall times measured on 2 shared cores (simulator/README.md, "Measured").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

LAST_PERIOD = date(2025, 12, 31)


@dataclass(frozen=True)
class Preset:
    name: str
    n_institutions: int
    n_quarters: int  # months = 3 * n_quarters, ending at ``last_period``
    last_period: date = LAST_PERIOD
    gb18030_share: float = 0.25  # institutions delivering GB18030 instead of UTF-8
    gzip_share: float = 0.25  # institutions gzipping their files
    deteriorating_share: float = 0.08  # capital reporters planted to fall below the CAR minimum
    recovering_share: float = 0.05  # institutions that weaken for a few quarters, then recover
    # --- entities ---
    n_firms: int = 200
    n_persons: int = 2_000
    elderly_share: float = 0.20  # persons aged 60+ at the last period (China: ~21%)
    developer_share: float = 0.04  # firms that are real-estate developers (industry K)
    # --- banking ---
    mortgage_share: float = 0.12  # persons aged 25-60 with a mortgage
    consumer_loan_share: float = 0.08
    firm_borrower_share: float = 0.55  # active firms with at least one loan
    guarantee_share: float = 0.35  # corporate loans guaranteed by another firm or a person
    n_guarantee_circles: int = 2  # planted A->B->C->A circles (across firms and banks)
    n_guarantee_chains: int = 2  # planted A->B->C->D chains
    # --- transactions ---
    n_transactions: int = 20_000  # target rows over the whole run (both sides of a transfer count)
    n_schemes: int = 2  # illegal fundraising schemes
    n_payroll: int = 6  # payroll firms (hard negative)
    n_merchants: int = 8  # retail merchants (hard negative)
    pension_share: float = 0.6  # elderly persons receiving a monthly pension (hard negative)
    # disguised schemes (simulator.disguise): the share of schemes disguised, and the probability of each
    # trick for a disguised scheme; off by default (no draw is made, the landing zone is unchanged)
    disguise_share: float = 0.0
    disguise_tricks: tuple[tuple[str, float], ...] = (
        ("neutral_purpose", 1.0), ("odd_amounts", 0.7), ("fan_in_only", 0.3), ("slow_payouts", 0.4),
        ("busy_account", 0.3), ("mule_chain", 0.4))
    stream_transactions: bool = False  # generate/write transactions month by month, never all at once
    stream_loans: bool = False  # make loan and guarantee snapshots month by month while writing, never all at once
    # --- delivery defects and external data ---
    defects: str = "none"  # simulator.defects.resolve: "none", "default" (a few %), "all"
    external_feeds: bool = True  # generate() also writes the external feeds beside the landing zone
    # --- time ---
    extra_months: int = 0  # months simulated after ``last_period`` (``simulate advance``); entities stay anchored
    # quarters of prudential history before the window: quarterly reports, ratings, interventions and cases
    # only, no detail table (simulator.history); its episodes are spread over the history
    prudential_history_quarters: int = 0

    @property
    def window_end(self) -> date:
        """The last month end simulated: ``last_period`` plus ``extra_months``."""
        return _add_months(self.last_period, self.extra_months)

    @property
    def n_months(self) -> int:
        return 3 * self.n_quarters


def _add_months(d: date, n: int) -> date:
    from simulator.periods import month_end

    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return month_end(y, m + 1)


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", n_institutions=10, n_quarters=4, n_firms=200, n_persons=2_000,
                   n_transactions=20_000, n_schemes=2, n_payroll=6, n_merchants=8,
                   n_guarantee_circles=2, n_guarantee_chains=2),
    "small": Preset("small", n_institutions=80, n_quarters=8, n_firms=5_000, n_persons=50_000,
                    n_transactions=1_000_000, n_schemes=12, n_payroll=40, n_merchants=60,
                    n_guarantee_circles=8, n_guarantee_chains=8, prudential_history_quarters=8),
    "medium": Preset("medium", n_institutions=200, n_quarters=8, n_firms=20_000, n_persons=200_000,
                     n_transactions=5_000_000, n_schemes=30, n_payroll=160, n_merchants=240,
                     n_guarantee_circles=20, n_guarantee_chains=20, prudential_history_quarters=8),
    "large": Preset("large", n_institutions=400, n_quarters=8, n_firms=100_000, n_persons=1_000_000,
                    n_transactions=50_000_000, n_schemes=80, n_payroll=800, n_merchants=1_200,
                    n_guarantee_circles=60, n_guarantee_chains=60, stream_transactions=True, stream_loans=True,
                    external_feeds=False),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known: {sorted(PRESETS)}") from None
