"""Options shared by several commands, declared once."""

from __future__ import annotations

import argparse

WORLDS = ("tiny", "small", "medium", "large")


def add_world_options(parser: argparse.ArgumentParser, *, default: str = "small") -> None:
    """``--world`` (alias ``--preset``) and ``--seed``: which simulated world."""
    parser.add_argument("--world", "--preset", dest="preset", default=default, choices=WORLDS,
                        help=f"simulated world size (default {default})")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (default 7)")


def add_defects_option(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    parser.add_argument("--defects", default=default,
                        help=f"inject delivery defects: none | default (a few %% of files) | all | a scale factor "
                             f"(default: {default or 'none'}); the catalogue: `supervision simulate defects`")
