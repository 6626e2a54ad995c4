"""Run the benchmarks: `make bench`, or `python -m bench [NAME ...]` for some of them.

Each module bench/bench_<name>.py defines `run() -> list[Result]`. Absolute timings on shared machines mean
little, so every result is a ratio against a baseline measured in the same run; its detail line carries the
raw figures. Django is set up on a scratch site: files under a temporary VAR_DIR, and a scratch database (a SQLite file
there, or with DATABASE_URL a throwaway database beside the configured one).
"""

import atexit
import importlib
import os
import pkgutil
import platform
import sys
import tempfile
import warnings
from pathlib import Path

import bench
from bench.harness import Result


def _setup_django(var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "marketplace.settings"
    os.environ["VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_HTTPS", "false")
    # Benchmarks measure throughput, not the API's rate limits.
    os.environ.setdefault("API_THROTTLE_USER", "100000000/minute")
    os.environ.setdefault("API_THROTTLE_ANON", "100000000/minute")
    # Static files are not collected for a scratch site; WhiteNoise would warn about it on every handler.
    warnings.filterwarnings("ignore", message="No directory at")
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0)  # a scratch file under the temporary VAR_DIR
    else:
        # A scratch database beside the configured one (as the test runner makes), dropped at exit.
        original_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        atexit.register(connection.creation.destroy_test_db, original_name, verbosity=0)


def main(selected: list[str]) -> int:
    names = sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules(bench.__path__)
        if module.name.startswith("bench_")
    )
    unknown = set(selected) - set(names)
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(sorted(unknown))}; there are: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    print(
        f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as var_dir:
        _setup_django(var_dir)
        failed = False
        for name in selected or names:
            results: list[Result] = importlib.import_module(f"bench.bench_{name}").run()
            for result in results:
                print(result.line())
                failed |= not result.met
        return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main(sys.argv[1:]))
