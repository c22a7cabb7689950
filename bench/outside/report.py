"""Markdown tables of one seed's figures (``evaluate.py``)."""

from __future__ import annotations

PATTERNS = ("fan_in", "gather_scatter", "bipartite", "stack", "scatter_gather", "fan_out", "cycle", "random", "all")
ROLES = ("collector", "distributor", "intermediary", "all")


def _f(x: float) -> str:
    return f"{x:.2f}"


def render(name: str, r: dict) -> str:
    v = r["volumes"]
    lines = [f"### {name}: {r['transfers']:,} transfers, {r['accounts']:,} accounts, "
             f"{r['scored_account_months']:,} scored account-months, {r['members']} pattern members",
             "",
             f"queue (flow_alerts) {v['queue']} alerts, bureaus {r.get('queue_bureaus')}; per-bank queue "
             f"{v['bank_queue']}; top 1% = {v['top1']}, top 5% = {v['top5']} account-months; plain rule's k at "
             f"the cut: {r['plain_k_at_cut']}",
             "",
             "| pattern | role | n | queue | plain | chance | per-bank queue | plain | top 1% | plain | chance "
             "| top 5% | plain | chance |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    d, p, c = r["detector"], r["plain"], r["chance"]
    for pat in PATTERNS:
        for role in ROLES:
            g = (pat, role)
            if g not in d["queue"]["n"] or (pat != "all" and role == "all"):
                continue
            cells = [str(d["queue"]["n"][g])]
            for sel in ("queue", "bank_queue", "top1", "top5"):
                cells += [_f(d[sel]["recall"].get(g, 0)), _f(p[sel]["recall"].get(g, 0))]
                if sel != "bank_queue":
                    cells.append(_f(c[sel]["recall"].get(g, 0)))
            lines.append(f"| {pat} | {role} | " + " | ".join(cells) + " |")
    lines += ["", "| selection | volume | detector precision | plain precision | chance precision |",
              "|---|---|---|---|---|"]
    for sel in ("queue", "bank_queue", "top1", "top5"):
        lines.append(f"| {sel} | {v[sel]} | {d[sel]['precision']:.3f} | {p[sel]['precision']:.3f} | "
                     f"{c[sel]['precision']:.4f} |")
    lines += ["", "what fills the selections (sector of the account): " + "; ".join(
        f"{k}: " + ", ".join(f"{s} {n}" for s, n in vals[:8]) for k, vals in r.get("what_fills", {}).items())]
    lines += ["top typology: " + "; ".join(f"{k}: " + ", ".join(f"{s} {n}" for s, n in vals)
                                           for k, vals in r.get("typologies", {}).items())]
    detail = r.get("members_detail", [])
    if detail:
        lines += ["", "| pattern | role | members | never scored | median best rank (share of account-months above it) "
                  "| median senders in 30 days |", "|---|---|---|---|---|---|"]
        for pat in PATTERNS[:-1]:
            for role in ROLES[:-1]:
                ms = [m for m in detail if m["pattern"] == pat and m["role"] == role]
                if not ms:
                    continue
                ranks = sorted(m["best_rank"] for m in ms if m["best_rank"] is not None)
                senders = sorted(m["senders_30d"] for m in ms)
                med = f"{ranks[len(ranks) // 2]:.3f}" if ranks else "-"
                lines.append(f"| {pat} | {role} | {len(ms)} | {len(ms) - len(ranks)} | {med} | "
                             f"{senders[len(senders) // 2]} |")
        fan = [m for m in detail if m["pattern"] == "fan_in" and m["role"] == "collector"]
        lines += ["", "fan-in collectors (holder, senders in 30 days, best rank, top typology there): " + "; ".join(
            f"{m['holder'][0]}/{m['holder'][1]} {m['senders_30d']} "
            f"{m['best_rank'] if m['best_rank'] is None else round(m['best_rank'], 3)} {m['typology']}"
            for m in sorted(fan, key=lambda m: -m["senders_30d"]))]
    lines += [f"seconds: {r.get('times')}; batches {r.get('batches')}; raw transaction rows "
              f"{r.get('raw_transactions')}; scored account-months not mapped to a file account "
              f"{r.get('unmapped_scored')}"]
    return "\n".join(lines)


def pooled(results: list[dict]) -> str:
    """One table over several seeds' JSON results (``evaluate.py --json``): members found / members."""
    sels = ("queue", "bank_queue", "top1", "top5")
    lines = ["| pattern | role | n | " + " | ".join(f"{s} det / plain / chance" for s in sels) + " |",
             "|---|---|---|" + "---|" * len(sels)]
    groups = [g for g in (f"{p}/{r}" for p in PATTERNS for r in ROLES) if g in results[0]["detector"]["queue"]["n"]
              and (g.startswith("all/") or not g.endswith("/all"))]
    for g in groups:
        n = sum(r["detector"]["queue"]["n"].get(g, 0) for r in results)
        cells = []
        for s in sels:
            vals = [sum(r[who][s]["recall"].get(g, 0) * r[who][s]["n"].get(g, 0) for r in results) / n
                    for who in ("detector", "plain", "chance")]
            cells.append(" / ".join(f"{v:.2f}" for v in vals))
        lines.append(f"| {g.split('/')[0]} | {g.split('/')[1]} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "| selection | alerts | detector precision | plain precision | chance precision |",
              "|---|---|---|---|---|"]
    for s in sels:
        vol = sum(r["detector"][s]["volume"] for r in results)
        det = sum(r["detector"][s]["true"] for r in results) / vol
        pl = sum(r["plain"][s]["true"] for r in results) / sum(r["plain"][s]["volume"] for r in results)
        ch = sum(r["chance"][s]["precision"] * r["chance"][s]["volume"] for r in results) / vol
        lines.append(f"| {s} | {vol} | {det:.3f} | {pl:.3f} | {ch:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m bench.outside.report", description="pool seeds' results")
    parser.add_argument("json", type=Path, nargs="+", help="files written by evaluate.py --json")
    args = parser.parse_args(argv)
    results = []
    for p in args.json:
        try:
            results += list(json.loads(p.read_text(encoding="utf-8")).values())
        except (OSError, ValueError) as e:
            print(f"{p}: not a results file: {e}", file=sys.stderr)
            return 2
    print(pooled(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
