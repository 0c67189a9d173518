"""bench_sync.py's report: each phase's figures summarised, and issue 17's table printed beside
the bare endpoint's."""

from __future__ import annotations

import os


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


def rate(phase_and_seconds) -> float:
    phase, seconds = phase_and_seconds
    return phase.events / seconds if seconds else 0.0


def per_thousand_events(figures: dict, measure: str) -> tuple[float, ...]:
    """A CPU measure of the phones, capacity and bulk phases, in seconds per 1,000 events."""
    phases = (figures["phones"], figures["capacity"][0], figures["bulk"][0])
    return tuple(
        1000 * figures.get(f"{name}_{measure}", 0.0) / max(1, phase.events)
        for name, phase in zip(("phones", "capacity", "bulk"), phases, strict=True)
    )


def summarise(name: str, figures: dict, check: tuple) -> dict:
    phones = figures["phones"]
    return {
        "name": name,
        "p50": pct(phones.latency, 0.5),
        "p95": pct(phones.latency, 0.95),
        "p99": pct(phones.latency, 0.99),
        "phone_events": phones.events,
        "errors": sum(phones.errors.values())
        + sum(figures["capacity"][0].errors.values())
        + sum(figures["bulk"][0].errors.values()),
        "error_kinds": {
            f"{name}: {kind}": count
            for name in ("phones", "capacity", "bulk")
            for kind, count in (
                figures[name] if name == "phones" else figures[name][0]
            ).errors.items()
        },
        "capacity": rate(figures["capacity"]),
        "capacity_p95": pct(figures["capacity"][0].latency, 0.95),
        "bulk": rate(figures["bulk"]),
        "lost": check[0],
        "dup": check[1],
        "missing": check[2],
        "loads": (figures["phones_load"], figures["capacity_load"], figures["bulk_load"]),
        # CPU per 1,000 events stored: far less sensitive than rates to a busy machine.
        "cpu": per_thousand_events(figures, "cpu"),
        "loop_cpu": per_thousand_events(figures, "loop_cpu"),
        "writer_cpu": per_thousand_events(figures, "writer_cpu"),
        "client_cpu": per_thousand_events(figures, "client_cpu"),
        # Cores the server kept busy at capacity: beside the client's own CPU, which of the two
        # holds the run back on a machine they share.
        "capacity_cores": figures["capacity_cpu"] / max(figures["capacity"][1], 1e-9),
    }


def print_table(args, mine: dict, base: dict | None, raw_rate: float) -> None:
    """Issue 17's table; the bare columns say "not run" when only the project was measured."""
    none = "not run"
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\nproject on {engine} ({args.workers} process(es)), bare endpoint on SQLite; "
          f"end: {load()}")  # fmt: skip
    print("| load | project | bare endpoint | project / bare |")
    print("|---|---|---|---|")
    phones_secs = args.duration
    print(
        f"| {args.phones} phones × {args.per_push} events every ~{args.every} s, {args.duration} s "
        f"| {mine['phone_events'] / phones_secs:,.0f} events/s, p50/p95/p99 "
        f"{mine['p50']:.1f}/{mine['p95']:.1f}/{mine['p99']:.1f} ms | "
        + (
            f"{base['phone_events'] / phones_secs:,.0f} events/s, p50/p95/p99 "
            f"{base['p50']:.1f}/{base['p95']:.1f}/{base['p99']:.1f} ms "
            f"| p95 {mine['p95'] / max(base['p95'], 0.001):.1f}× |"
            if base
            else f"{none} | |"
        )
    )
    print(
        f"| capacity: {args.concurrency} concurrent pushes of {args.per_push} "
        f"| {mine['capacity']:,.0f} events/s (push p95 {mine['capacity_p95']:.0f} ms) | "
        + (
            f"{base['capacity']:,.0f} events/s (push p95 {base['capacity_p95']:.0f} ms) "
            f"| {mine['capacity'] / max(base['capacity'], 1):.2f} |"
            if base
            else f"{none} | |"
        )
    )
    print(
        f"| bulk: {args.bulk:,} events in batches of {args.bulk_batch} "
        f"| {mine['bulk']:,.0f} events/s | "
        + (
            f"{base['bulk']:,.0f} events/s | {mine['bulk'] / max(base['bulk'], 1):.2f} "
            if base
            else f"{none} | "
        )
        + f"(raw executemany {raw_rate:,.0f} events/s: project/raw {mine['bulk'] / raw_rate:.3f}) |"
    )
    for row in (mine, base) if base else (mine,):
        print(
            f"{row['name']}: errors {row['errors']} {row['error_kinds'] or ''}; lost {row['lost']} "
            f"dup {row['dup']} never stored {row['missing']}; load during phones/capacity/bulk "
            f"{row['loads'][0]:.2f}/{row['loads'][1]:.2f}/{row['loads'][2]:.2f}"
        )
    cpu = "server CPU s per 1,000 events (phones/capacity/bulk): project " + "/".join(
        f"{v:.2f}" for v in mine["cpu"]
    )
    if base:
        cpu += (
            ", bare "
            + "/".join(f"{v:.2f}" for v in base["cpu"])
            + "; project / bare "
            + "/".join(
                f"{m / max(b, 1e-9):.1f}" for m, b in zip(mine["cpu"], base["cpu"], strict=True)
            )
        )
    print(cpu)
    for label, measure in (
        ("of which the event loop's thread", "loop_cpu"),
        ("the busiest other thread (SQLite's writer connection)", "writer_cpu"),
        ("the bench client's own CPU (this process)", "client_cpu"),
    ):
        print(f"{label}: {_both(mine, base, measure)}")
    cores = f"server cores busy at capacity: project {mine['capacity_cores']:.2f}"
    if base:
        cores += f", bare {base['capacity_cores']:.2f}"
    print(cores + f" (of {os.cpu_count()})")


def _both(mine: dict, base: dict | None, measure: str) -> str:
    """`project a/b/c, bare d/e/f`: a CPU measure of the three phases, per 1,000 events."""
    line = "project " + "/".join(f"{v:.3f}" for v in mine[measure])
    return line + (", bare " + "/".join(f"{v:.3f}" for v in base[measure]) if base else "")
