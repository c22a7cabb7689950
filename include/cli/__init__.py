"""``supervision``: the one command of the platform (``supervision`` is an alias).

Groups, as the users think of them:

    up | down | status        the warehouse (embedded PostgreSQL, or SUPERVISION_DATABASE_URL)
    demo | run | summary      the pipeline's DAGs in-process, and what they did
    airflow-ui [--port N]     the real Airflow UI on the same state (inspect-only unless --run-schedules)
    dbt ARGS...               dbt as the transformer role; `dbt-parse` writes the manifest Cosmos reads
    registry generate         every file generated from the dataset registry (`--check`: drift only)
    simulate ...              the simulator (a client of the product): generate | advance | defects
    ml ...                    early-warning models: train | evaluate | compare | promote | score | report
    flows dispose ...         a supervisor's decision on a suspicious-flow alert
    import transactions FILE  a plain CSV of transfers into the landing zone, through the landing contract
    institutions admit|list   the register of institutions allowed to submit
    trace ...                 a warning or alert down to the submitted file and line; a portrait as of a date
    notify export ...         case packages for public security, local government, the PBoC, discipline

Sub-tools with their own command line (``simulate``, ``ml``, ``registry``) are mounted, not
re-declared: ``supervision ml --help`` is ``ml``'s own help. Nothing heavy is imported at start-up.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from include.cli.options import add_defects_option, add_world_options

#: mounted sub-tools: name -> (module with main(argv), help)
TOOLS = {
    "simulate": ("simulator.__main__", "the simulator: generate | advance | defects (a client of the product)"),
    "ml": ("ml.cli", "early-warning models: train | evaluate | compare | promote | score | report"),
    "registry": ("include.registry.generate", "write every file generated from the dataset registry"),
    "institutions": ("include.ingest.admission", "the institution register: admit CODE... | list"),
    "trace": ("include.trace.cli", "show where a number came from: trace WARNING_ID | --as-of DATE INSTITUTION"),
    "notify": ("include.notify.agencies", "inter-agency case packages: export --to AGENCY"),
    "import": ("include.flows.importer", "bring outside data in: transactions FILE (a bank's transfer export)"),
    "flows": ("include.flows.dispose", "flow alerts: dispose ALERT_ID confirmed|false_positive|under_review"),
    "bi": ("include.bi.cli", "Superset for supervisors: up | down | status | install | dq-pages"),
}


def _lazy(module: str, func: str):
    def call(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), func)(args)
    return call


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supervision", description="Smart-supervision data platform.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="State directory: $SUPERVISION_HOME (default ~/.local/share/supervision)")
    parser.add_argument("-v", "--verbose", action="store_true", help="library logs and debug output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, target: str, help_: str) -> argparse.ArgumentParser:
        module, func = target.rsplit(":", 1)
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=_lazy(module, func))
        return sp

    add("up", "include.cli.warehouse:cmd_up", "start the warehouse, bootstrap it, migrate Airflow's metadata DB")
    add("down", "include.cli.warehouse:cmd_down", "stop the embedded warehouse")
    add("status", "include.cli.warehouse:cmd_status", "where everything is and whether the warehouse is running")
    demo = add("demo", "include.cli.pipeline:cmd_demo", "up + simulate + dbt-parse + run + summary (`make demo`)")
    add_world_options(demo)
    # a small, realistic share of defective deliveries by default (about 5% of files, 2% of submissions), so
    # the gate visibly stops some: a world with every defect costs ~1.1-1.2x a clean one per file in CPU
    # (bench/ingest/defects_cost.py; bench/README.md, branch gate14)
    add_defects_option(demo, default="default")
    demo.add_argument("--regenerate", action="store_true", help="simulate again even if landing has data")
    r = add("run", "include.cli.pipeline:cmd_run", "run the DAGs in dependency order in-process (dag.test())")
    r.add_argument("dags", nargs="*", help="DAG ids (default: ingest_submissions ingest_external "
                                          "build_warehouse score_risk)")
    add_world_options(r)  # the simulated feed server's world, when AIRFLOW_CONN_EXTERNAL_FEEDS is not set
    add("summary", "include.cli.pipeline:cmd_summary", "row counts and where to look")
    ui = add("airflow-ui", "include.cli.pipeline:cmd_airflow_ui",
             "the Airflow UI on 127.0.0.1, inspect-only (no scheduler) unless --run-schedules")
    ui.add_argument("--port", type=int, default=None, help="port (default $AIRFLOW__API__PORT or 8080)")
    ui.add_argument("--run-schedules", action="store_true",
                    help="also run the scheduler: DAGs unpaused, schedules and Asset triggers run")
    add_world_options(ui)  # the simulated feed server's world for ingest_external under --run-schedules
    d = add("dbt", "include.cli.warehouse:cmd_dbt", "a dbt command as the transformer role: `dbt -- docs generate`")
    d.add_argument("dbt_args", nargs=argparse.REMAINDER)
    add("dbt-parse", "include.cli.warehouse:cmd_dbt_parse", "make dbt's manifest.json for Cosmos")
    for name, (module, help_) in TOOLS.items():
        sp = sub.add_parser(name, help=help_, add_help=False, prefix_chars="\0")
        sp.add_argument("tool_args", nargs=argparse.REMAINDER)
        sp.set_defaults(tool=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # everything under the state directory holds data: private to this user (issue #14)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from include.warehouse.server import NotRunning

    try:
        if getattr(args, "tool", None):
            return importlib.import_module(args.tool).main(args.tool_args) or 0
        if getattr(args, "dbt_args", None) and args.dbt_args[:1] == ["--"]:
            args.dbt_args = args.dbt_args[1:]
        return args.func(args) or 0
    except NotRunning as e:  # any sub-command that needs the server: one line, not a traceback
        print(f"supervision: {e}", file=sys.stderr)
        return 2
