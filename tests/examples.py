"""How many examples a property-based test tries: every one in CI (`.ci/run` sets CI=true), a fifth of them
in a local run, where a quick answer matters more than a long search. Each test names its full count."""

import os

LOCAL_SHARE = 5


def examples(full: int) -> int:
    return full if os.environ.get("CI") == "true" else max(1, full // LOCAL_SHARE)
