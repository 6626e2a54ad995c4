"""The figures of a run, as a table per kind of request: locust's (the client's) and the server's own.

locust's come from its CSV statistics; the server's from the files load/gunicorn_conf.py writes (a row per
request: kind, milliseconds in the worker, CPU milliseconds of the worker's thread).
"""

import csv
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from load.gunicorn_conf import TIMINGS_PREFIX

# The catalog's HTML pages, whose p99 the load test reports against its target.
CATALOG_PAGES = ("catalog", "catalog next page", "search", "search next page")
CATALOG_P99_TARGET_MS = 300
AGGREGATED = "Aggregated"  # locust's name for the row of all requests


@dataclass(frozen=True)
class Row:
    name: str
    requests: int
    failures: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server: "ServerTimes | None"  # None for the row of all requests


@dataclass(frozen=True)
class ServerTimes:
    """One kind of request as the server timed it."""

    p50_ms: float
    p99_ms: float
    cpu_mean_ms: float
    cpu_seconds: float  # all requests of the kind together


@dataclass(frozen=True)
class Failure:
    method: str
    name: str
    error: str
    occurrences: int


@dataclass(frozen=True)
class Report:
    rows: list[Row]  # the kinds of request, then all of them together
    failures: list[Failure]
    exceptions: list[str]  # errors in the simulated users' own code, with how often each happened

    @property
    def server_cpu_seconds(self) -> float:
        """The CPU time the web workers' threads spent on requests."""
        return sum(row.server.cpu_seconds for row in self.rows if row.server)

    @property
    def errors(self) -> int:
        return sum(failure.occurrences for failure in self.failures) + len(self.exceptions)

    @classmethod
    def read(cls, prefix: Path) -> "Report":
        """The report of the CSV files locust wrote with `--csv PREFIX`, and the server's beside them."""
        server = _server_times(prefix.parent)
        rows = [
            Row(
                name=record["Name"] if record["Name"] != AGGREGATED else "all requests",
                requests=int(record["Request Count"]),
                failures=int(record["Failure Count"]),
                per_second=float(record["Requests/s"]),
                p50_ms=_milliseconds(record["50%"]),
                p95_ms=_milliseconds(record["95%"]),
                p99_ms=_milliseconds(record["99%"]),
                server=server.get(record["Name"]),
            )
            for record in _records(prefix, "stats")
        ]
        failures = [
            Failure(record["Method"], record["Name"], record["Error"], int(record["Occurrences"]))
            for record in _records(prefix, "failures")
        ]
        exceptions = [
            f"{record['Count']} x {record['Message']} ({record['Traceback'].strip().splitlines()[-1:]})"
            for record in _records(prefix, "exceptions")
        ]
        return cls(rows=rows, failures=failures, exceptions=exceptions)

    def table(self) -> str:
        """Markdown, so it can be pasted into the operations guide as it is."""
        lines = [
            "| requests of kind | count | per second | p50 ms | p95 ms | p99 ms | errors "
            "| in server p50 ms | in server p99 ms | server CPU ms, mean |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in self.rows:
            server = (
                f"{row.server.p50_ms:.0f} | {row.server.p99_ms:.0f} | {row.server.cpu_mean_ms:.1f}"
                if row.server
                else " | | "
            )
            lines.append(
                f"| {row.name} | {row.requests:,} | {row.per_second:.1f} | {row.p50_ms:.0f} | {row.p95_ms:.0f} "
                f"| {row.p99_ms:.0f} | {row.failures:,} | {server} |"
            )
        return "\n".join(lines)

    def catalog_target(self) -> str:
        """Whether the catalog pages' p99 is within the target, said as a sentence."""
        pages = [row for row in self.rows if row.name in CATALOG_PAGES and row.requests]
        if not pages:
            return "No catalog page was requested."
        worst = max(pages, key=lambda row: row.p99_ms)
        verdict = "met" if worst.p99_ms < CATALOG_P99_TARGET_MS else "NOT met"
        return (
            f"Catalog pages: the slowest p99 is {worst.p99_ms:.0f} ms ({worst.name}); target under "
            f"{CATALOG_P99_TARGET_MS} ms: {verdict} (reported, not enforced: timings on a shared machine vary)."
        )


def _records(prefix: Path, kind: str) -> list[dict[str, str]]:
    path = prefix.with_name(f"{prefix.name}_{kind}.csv")
    if not path.exists():
        return []
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def _server_times(directory: Path) -> dict[str, ServerTimes]:
    """The server's times of each kind of request, from every worker's file."""
    wall: defaultdict[str, list[float]] = defaultdict(list)
    cpu: defaultdict[str, list[float]] = defaultdict(list)
    for path in directory.glob(f"{TIMINGS_PREFIX}*.csv"):
        with path.open(newline="") as stream:
            for kind, wall_ms, cpu_ms in csv.reader(stream):
                wall[kind].append(float(wall_ms))
                cpu[kind].append(float(cpu_ms))
    return {
        kind: ServerTimes(
            p50_ms=_percentile(times, 0.50),
            p99_ms=_percentile(times, 0.99),
            cpu_mean_ms=statistics.fmean(cpu[kind]),
            cpu_seconds=sum(cpu[kind]) / 1000,
        )
        for kind, times in wall.items()
    }


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank, as locust reports its own."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _milliseconds(value: str) -> float:
    """A percentile column: "N/A" when no request of the kind finished."""
    return float(value) if value not in ("", "N/A") else 0.0
