"""Run the load test: `make load`, or `python -m load [--users N] [--seconds S]`.

1. A scratch PostgreSQL database beside the one DATABASE_URL names (by default the local server), migrated
   and seeded (load/seed.py), and a scratch folder for media, keys and collected static files.
2. The site as production runs it: gunicorn (two workers of four threads, load/gunicorn_conf.py) and a
   Celery worker on a Redis broker, on loopback, DEBUG off, static files from WhiteNoise.
3. locust, headless, for a fixed number of users and seconds (load/locustfile.py).
4. The hostile pass (load/attack.py): each attack of the security checks against the same site must be
   refused cleanly, and no attack may push a process past its memory budget.
5. A table per kind of request: requests per second and p50/p95/p99 as locust saw them, the time inside the
   server and its CPU time; how busy the machine was, and with what; every error.
6. Everything stopped, the scratch database dropped and the folder removed, whatever happened.

The exit status is 1 when a request failed, an attack got through or a process died or outgrew its budget, 0
otherwise. Response times are reported,
never judged: on a shared machine they measure the neighbours as much as the site.

LOAD_REDIS_URL names the Redis database the run uses as its broker and cache (default: database 10 on the
local server); it is emptied before and after the run, so it must be the load test's own.
"""

import argparse
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import django
import psycopg
import redis
from django.core.management import call_command
from django.db import connections

from load import gunicorn_conf
from load.report import Report

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
STARTUP_SECONDS = 30
CELERY_COMMAND: list[str | Path] = [
    BIN / "celery",
    "-A",
    "marketplace",
    "worker",
    "--concurrency=1",
    "--loglevel=WARNING",
]
LOG_LINES_ON_FAILURE = 40


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users at once (default 50)")
    parser.add_argument("--spawn-rate", type=int, default=10, help="users started a second (default 10)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the run (default 60)")
    parser.add_argument(
        "--threads",
        type=int,
        default=gunicorn_conf.threads,
        help=f"threads per gunicorn worker (default {gunicorn_conf.threads}, from load/gunicorn_conf.py)",
    )
    options = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if urlsplit(server_url).scheme not in ("postgres", "postgresql"):
        print("The load test runs on PostgreSQL: set DATABASE_URL to a PostgreSQL server.", file=sys.stderr)
        return 2
    redis_url = os.environ.get("LOAD_REDIS_URL", DEFAULT_REDIS_URL)
    # Stopped by a signal (a CI timeout, kill), the run still stops its processes and drops its database.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    with ExitStack() as cleanup:
        var_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="load-")))
        database_url = cleanup.enter_context(_scratch_database(server_url))
        cleanup.enter_context(_emptied_redis(redis_url))
        os.environ.update(
            DJANGO_SETTINGS_MODULE="load.settings",
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            VAR_DIR=str(var_dir),
            DJANGO_DEBUG="false",
            DJANGO_HTTPS="false",
            # Every simulated client comes from 127.0.0.1: the anonymous rate limit, counted per address,
            # would stop them all as if they were one. Signed-in buyers keep the per-user limit.
            API_THROTTLE_ANON="1000000/minute",
            LOG_LEVEL="WARNING",
        )
        scenario = var_dir / "scenario.json"
        print("Seeding the scratch site ...", flush=True)
        started = time.perf_counter()
        _site_prepare(scenario)
        print(f"Seeded in {time.perf_counter() - started:.0f} s.", flush=True)

        port = _free_port()
        servers = [
            cleanup.enter_context(_process("web", _gunicorn_command(port, options.threads), var_dir)),
            cleanup.enter_context(_process("worker", CELERY_COMMAND, var_dir)),
        ]
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", servers[0])
        _wait_until_worker_answers(servers[1])

        print(
            f"locust: {options.users} users (started {options.spawn_rate} a second) for "
            f"{options.seconds} s against gunicorn ({gunicorn_conf.workers} workers of "
            f"{options.threads} thread(s)) on port {port} ...",
            flush=True,
        )
        machine = _CpuTime.now()
        load_before = os.getloadavg()[0]
        locust = _locust_run(options, f"http://127.0.0.1:{port}", scenario, var_dir)
        machine_used = _CpuTime.now().since(machine)
        database_cpu_seconds = _database_cpu_seconds(database_url)
        attacks_failed = _attacks_print(f"http://127.0.0.1:{port}", scenario, servers)

        report = Report.read(var_dir / "locust")
        print()
        print(report.table())
        print()
        print(report.catalog_target())
        print(
            f"Machine: {os.cpu_count()} cores, busy {machine_used.busy_share:.0%} of the run: "
            f"{machine_used.busy_seconds:.0f} CPU-s of {machine_used.total_seconds:.0f}, of which the web "
            f"workers' requests {report.server_cpu_seconds:.0f}, PostgreSQL serving them "
            f"{database_cpu_seconds:.0f}, locust {locust.cpu_seconds:.0f}; the rest is Redis, the Celery worker "
            f"and whatever else ran. 1-minute load average "
            f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after."
        )
        return 1 if _errors_print(report, locust, servers) or attacks_failed else 0


def _attacks_print(site: str, scenario: Path, servers: list["_Process"]) -> bool:
    """Run the hostile pass and print what each attack got and each process's peak memory; whether any
    attack got through or any process outgrew its budget."""
    from load import attack  # it imports the tests' hostile files, which need Django set up

    seeded = json.loads(scenario.read_text())
    accounts = attack.Accounts(
        buyer_email=seeded["buyers"][0]["email"],
        buyer_token=seeded["buyers"][0]["api_token"],
        creator_token=seeded["creator_token"],
    )
    print("\nHostile pass:")
    pids = {server.name: server.pid for server in servers}
    before = attack.memory_peaks(pids)
    outcomes = attack.attacks_run(site, accounts)
    for outcome in outcomes:
        print(f"  {'refused' if outcome.refused else 'GOT THROUGH'}: {outcome.attack} -> {outcome.answers}")
    after = attack.memory_peaks(pids)
    print(
        "  peak memory (after the load, after the attacks): "
        + ", ".join(f"{name} {before[name]} MB, {after[name]} MB" for name in after)
    )
    failures = [f"an attack got through: {outcome.attack}" for outcome in outcomes if not outcome.refused]
    failures += attack.over_budget(before, after)
    for failure in failures:
        print(f"ERROR: {failure}")
    return bool(failures)


def _errors_print(report: Report, locust: "_Process", servers: list["_Process"]) -> bool:
    """Print every error of the run; whether there was any."""
    for failure in report.failures:
        print(f"ERROR {failure.occurrences} x {failure.method} {failure.name}: {failure.error}")
    for exception in report.exceptions:
        print(f"ERROR in a simulated user: {exception}")
    died = [process for process in servers if process.poll() is not None]
    for process in died:
        print(f"ERROR: the {process.name} process died (exit {process.returncode})")
        _print_log_tail(process)
    # locust warns when it is short of CPU itself: then it measures its own delays too.
    for line in locust.log.read_text(errors="replace").splitlines():
        if "WARNING" in line or "ERROR" in line:
            print(f"locust: {line}")
    # locust exits with 1 when a request failed (counted above), with something else when it broke.
    broken = locust.returncode not in (0, 1)
    if broken:
        print(f"ERROR: locust exited with {locust.returncode}")
        _print_log_tail(locust)
    if report.errors or died or broken:
        return True
    print("No errors.")
    return False


def _gunicorn_command(port: int, threads: int) -> list[str | Path]:
    return [
        BIN / "gunicorn",
        "marketplace.wsgi:application",
        f"--config={HERE / 'gunicorn_conf.py'}",
        f"--bind=127.0.0.1:{port}",
        f"--threads={threads}",
    ]


def _site_prepare(scenario: Path) -> None:
    """Migrate, collect the static files and seed, in this process; the scenario written for locust."""
    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    from load.seed import site_seed  # it imports models: only once Django is set up

    scenario.write_text(json.dumps(site_seed().as_json()))
    # The database is dropped at the end; no connection of this process may hold it.
    connections.close_all()


@contextmanager
def _scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server DATABASE_URL names; its URL. Dropped on the way out."""
    name = f"load_{secrets.token_hex(4)}"
    parts = urlsplit(server_url)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _emptied_redis(url: str) -> Iterator[None]:
    """The run's Redis database, empty at the start (no stale tasks or rate counters) and left empty."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield
    finally:
        client.flushdb()
        client.close()


class _Process(subprocess.Popen[bytes]):
    name: str
    log: Path
    cpu_seconds: float  # user and system, once it has ended (measured for locust only)


@contextmanager
def _process(name: str, command: list[str | Path], var_dir: Path) -> Iterator[_Process]:
    """A server process of the site, its output in a log file; stopped (with its children) on the way out."""
    log = var_dir / f"{name}.log"
    with log.open("wb") as output:
        # A session of its own: the process and its workers are stopped together through its group.
        process = _Process(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    process.name, process.log = name, log
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STARTUP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_until_up(url: str, process: _Process) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _print_log_tail(process)
            raise SystemExit(f"the {process.name} process exited with {process.returncode} on start")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (a loopback URL made here)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {STARTUP_SECONDS} s")


def _wait_until_worker_answers(process: _Process) -> None:
    """Until the Celery worker answers a ping through the broker, so it is really there for the run."""
    from marketplace.celery import app  # configured from the settings: only once Django is set up

    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _print_log_tail(process)
            raise SystemExit(f"the {process.name} process exited with {process.returncode} on start")
        if app.control.ping(timeout=1):
            return
    raise SystemExit(f"the Celery worker did not answer within {STARTUP_SECONDS} s")


def _locust_run(options: argparse.Namespace, host: str, scenario: Path, var_dir: Path) -> _Process:
    """Run locust headless to the end; its CSV statistics land at var_dir/locust_*.csv."""
    command: list[str | Path] = [
        BIN / "locust",
        f"--locustfile={HERE / 'locustfile.py'}",
        "--headless",
        f"--users={options.users}",
        f"--spawn-rate={options.spawn_rate}",
        f"--run-time={options.seconds}s",
        f"--host={host}",
        f"--csv={var_dir / 'locust'}",
        "--only-summary",
        "--loglevel=WARNING",
    ]
    os.environ["LOAD_SCENARIO"] = str(scenario)
    with _process("locust", command, var_dir) as locust:
        # The only child that ends meanwhile: the growth of the children's CPU time is locust's.
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        locust.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        locust.cpu_seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return locust


def _database_cpu_seconds(database_url: str) -> float:
    """CPU time of the PostgreSQL backends connected to the scratch database (Linux).

    The site's connections open at its first requests and stay open (CONN_MAX_AGE): their whole CPU time
    is the run's.
    """
    with psycopg.connect(database_url) as connection:
        pids = [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:  # the backend ended meanwhile
            continue
        # The fields after the command's name (which may hold spaces): utime and stime are the 12th and 13th.
        fields = stat.rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / _CpuTime.TICKS_PER_SECOND


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _print_log_tail(process: _Process) -> None:
    lines = process.log.read_text(errors="replace").splitlines()[-LOG_LINES_ON_FAILURE:]
    print(f"--- the last lines of the {process.name} log", *lines, "---", sep="\n")


class _CpuTime:
    """The machine's CPU time, busy and idle, from /proc/stat (Linux): how busy it was between two readings."""

    TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")

    def __init__(self, busy: int, total: int) -> None:
        self.busy, self.total = busy, total  # in ticks, over every core

    @classmethod
    def now(cls) -> "_CpuTime":
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle and iowait
        return cls(busy=sum(fields[:8]) - idle, total=sum(fields[:8]))

    def since(self, earlier: "_CpuTime") -> "_CpuTime":
        return _CpuTime(busy=self.busy - earlier.busy, total=self.total - earlier.total)

    @property
    def busy_share(self) -> float:
        return self.busy / self.total if self.total else 0.0

    @property
    def busy_seconds(self) -> float:
        return self.busy / self.TICKS_PER_SECOND

    @property
    def total_seconds(self) -> float:
        return self.total / self.TICKS_PER_SECOND


if __name__ == "__main__":
    sys.exit(main())
