"""A hostile pass against the running site, after the load: each attack of the security checks, sent as a
hostile buyer or creator would send it, must get a clean refusal, and no process may end above its memory
budget.

It runs against the scratch site `python -m load` starts (gunicorn with DEBUG off, a Celery worker, PostgreSQL,
Redis), so what it proves holds for the site as production runs it, not only for the test client.
"""

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

from tests.creators.hostile_corpus import jpeg_bytes
from tests.security import bombs

# The memory a process may reach, whatever it is sent (the decode budget's figures, docs/operations.md).
WEB_BUDGET_MB = 300
WORKER_BUDGET_MB = 600
REQUEST_SECONDS = 30
INWARD_WEBHOOKS = [
    "http://127.0.0.1:6379/",
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://0.0.0.0/",
    "https://[::ffff:127.0.0.3]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/",
    "https://100.64.0.1/",
    "https://localhost./",
]


@dataclass(frozen=True)
class Outcome:
    attack: str
    answers: str  # what the site answered, summed up
    refused: bool


@dataclass(frozen=True)
class Accounts:
    buyer_email: str
    buyer_token: str
    creator_token: str


def attacks_run(site: str, accounts: Accounts) -> list[Outcome]:
    """Send every attack; what each got."""
    checks: list[Callable[[str, Accounts], Outcome]] = [
        _login_brute_force,
        _nul_bytes,
        _malformed_ids,
        _webhooks_aimed_inward,
        _decompression_bombs,
        _truncated_jpeg,
        _upload_quota,
        _token_beyond_its_scope,
    ]
    return [check(site, accounts) for check in checks]


def memory_peaks(processes: dict[str, int]) -> dict[str, int]:
    """The peak resident memory (VmHWM, MB) of each named process tree's largest member."""
    peaks = {}
    for name, pid in processes.items():
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        peaks[name] = max(_high_water_mark_mb(member.pid) for member in tree)
    return peaks


def over_budget(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """The processes the attacks pushed past their budget: their peak grew during the pass and ended above
    it. A peak the load reached before the pass is the load's (reported, not judged here)."""
    budgets = {"web": WEB_BUDGET_MB, "worker": WORKER_BUDGET_MB}
    return [
        f"{name} peaked at {mb} MB during the attacks, over {budgets[name]} MB"
        for name, mb in after.items()
        if mb > budgets[name] and mb > before[name]
    ]


def _high_water_mark_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def _api(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


def _statuses(answers: list[requests.Response]) -> str:
    return ", ".join(str(answer.status_code) for answer in answers)


def _login_brute_force(site: str, accounts: Accounts) -> Outcome:
    """Case variants of one email, each from a forged X-Forwarded-For: the lockout still counts them as one."""
    browser = requests.Session()
    page = browser.get(f"{site}/account/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        return Outcome("log-in brute force", f"no CSRF token on the login page ({page.status_code})", False)
    local, domain = accounts.buyer_email.split("@")
    variants = [
        accounts.buyer_email.upper(),
        f" {accounts.buyer_email} ",
        f"{local.title()}@{domain.upper()}",
    ]
    answers = []
    for attempt in range(6):
        answers.append(
            browser.post(
                f"{site}/account/login/",
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "username": variants[attempt % len(variants)],
                    "password": "not-the-password",
                },
                headers={"X-Forwarded-For": f"198.51.100.{attempt}", "Referer": f"{site}/account/login/"},
                allow_redirects=False,
            )
        )
    return Outcome(
        "6 log-ins, case variants, forged X-Forwarded-For", _statuses(answers), answers[-1].status_code == 429
    )


def _nul_bytes(site: str, accounts: Accounts) -> Outcome:
    api = _api(accounts.creator_token)
    answers = [
        api.get(f"{site}/api/v1/assets/?status=%00"),
        api.get(f"{site}/api/v1/assets/%00/"),
        requests.get(f"{site}/datasets/?q=%00", timeout=REQUEST_SECONDS),
        requests.get(f"{site}/datasets/any/previews/%00.jpg", timeout=REQUEST_SECONDS),
    ]
    return Outcome(
        "NUL bytes in paths and queries", _statuses(answers), all(a.status_code == 400 for a in answers)
    )


def _malformed_ids(site: str, accounts: Accounts) -> Outcome:
    api = _api(accounts.buyer_token)
    answers = [api.get(f"{site}/api/v1/orders/1234/"), api.get(f"{site}/api/v1/licenses/not-a-uuid/")]
    json_404 = all(
        a.status_code == 404 and a.headers["Content-Type"].startswith("application/json") for a in answers
    )
    return Outcome("malformed ids in API paths", _statuses(answers), json_404)


def _webhooks_aimed_inward(site: str, accounts: Accounts) -> Outcome:
    api = _api(accounts.buyer_token)
    answers = [api.post(f"{site}/api/v1/webhooks/", json={"url": url}) for url in INWARD_WEBHOOKS]
    return Outcome(
        f"{len(INWARD_WEBHOOKS)} webhooks at loopback, private and metadata addresses",
        _statuses(answers),
        all(answer.status_code == 400 for answer in answers),
    )


def _upload(site: str, accounts: Accounts, name: str, content: bytes) -> requests.Response:
    return _api(accounts.creator_token).post(
        f"{site}/api/v1/assets/", files={"file": (name, io.BytesIO(content))}, data={"category": "other"}
    )


def _decompression_bombs(site: str, accounts: Accounts) -> Outcome:
    refused = [bomb for bomb in bombs.build() if bomb.refused_saying is not None]
    answers = [_upload(site, accounts, bomb.name, bomb.content) for bomb in refused]
    return Outcome(
        f"{len(refused)} decompression bombs uploaded",
        _statuses(answers),
        all(answer.status_code == 400 for answer in answers),
    )


def _truncated_jpeg(site: str, accounts: Accounts) -> Outcome:
    whole = jpeg_bytes(size=(640, 480))
    answer = _upload(site, accounts, "cut.jpg", whole[: len(whole) // 2])
    return Outcome("a JPEG cut short", str(answer.status_code), answer.status_code == 400)


def _upload_quota(site: str, accounts: Accounts) -> Outcome:
    api = _api(accounts.creator_token)
    answers = [
        api.post(
            f"{site}/api/v1/uploads/", json={"file_name": f"{uuid.uuid4().hex}.mp4", "size": 4 * 1024**3}
        )
        for _ in range(6)
    ]
    for answer in answers:
        if answer.status_code == 201:
            api.delete(f"{site}/api/v1/uploads/{answer.json()['id']}/")
    return Outcome("6 uploads of 4 GiB announced", _statuses(answers), answers[-1].status_code == 409)


def _token_beyond_its_scope(site: str, accounts: Accounts) -> Outcome:
    answer = _api(accounts.buyer_token).post(
        f"{site}/api/v1/review/releases/{uuid.uuid4()}/decision/", json={"decision": "approve"}
    )
    return Outcome("a buyer's token deciding a release", str(answer.status_code), answer.status_code == 403)
