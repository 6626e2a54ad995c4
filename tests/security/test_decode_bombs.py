"""Decompression bombs cost bounded memory: the upload request reads headers only and refuses what would not
fit the decode budget; ingest decodes apart, and rejects what it cannot decode within its bounds.

Each file is put through the web request's checks and through ingest, each in a fresh process whose peak
resident memory (VmHWM, and that of the child ingest decodes in) is measured; `pytest -s` prints the figures
that docs/operations.md quotes.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from creators.models import MediaAsset
from tests.security import bombs

ROOT = Path(__file__).resolve().parents[2]
WEB_PEAK_MB = 300
WORKER_PEAK_MB = 600
BOMBS = bombs.build()

# Runs in a fresh interpreter: `web` runs the checks the upload request runs (creators.services), `worker` the
# pipeline the ingest task runs. Prints what happened and the process's peak memory in MB.
MEASURE = """
import json, re, resource, sys, tempfile
from pathlib import Path

import django

django.setup()
from creators import services
from creators.ingest.images import ingest_image
from creators.ingest.limits import MediaRejected

role, path = sys.argv[1], Path(sys.argv[2])
try:
    if role == "web":
        services._validate_media(path, path.stat().st_size, services.media_limits())
        outcome, reason = "accepted", ""
    else:
        with tempfile.TemporaryDirectory() as work:
            ingest_image(path, Path(work), limits=services.media_limits())
        outcome, reason = "ingested", ""
except MediaRejected as refusal:
    outcome, reason = "refused" if role == "web" else "rejected", str(refusal)
own = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])
decoders = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"outcome": outcome, "reason": reason, "peak_mb": max(own, decoders) / 1024}))
"""


def _measured(role: str, path: Path) -> dict:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, role, str(path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("bomb", BOMBS, ids=[bomb.name for bomb in BOMBS])
def test_a_decompression_bomb_costs_the_upload_and_the_worker_bounded_memory(bomb, tmp_path):
    path = tmp_path / bomb.name
    path.write_bytes(bomb.content)

    web = _measured("web", path)
    worker = _measured("worker", path)

    print(
        f"\n| {bomb.name} | {len(bomb.content):,} B | {web['peak_mb']:.0f} MB | {worker['peak_mb']:.0f} MB "
        f"| {web['outcome']}: {web['reason'] or '-'} | {worker['outcome']}: {worker['reason'] or '-'} |"
    )
    assert web["peak_mb"] < WEB_PEAK_MB
    assert worker["peak_mb"] < WORKER_PEAK_MB
    if bomb.refused_saying is not None:
        assert web["outcome"] == "refused"
        assert bomb.refused_saying in web["reason"]
    else:
        assert web["outcome"] == "accepted"
    # Ingest either takes the file or rejects it with a reason; it never crashes.
    assert worker["outcome"] == "ingested" or worker["reason"]


@pytest.mark.django_db
@pytest.mark.parametrize("bomb", [bomb for bomb in BOMBS if bomb.refused_saying], ids=lambda bomb: bomb.name)
def test_uploading_a_decompression_bomb_is_refused_with_the_limit_and_leaves_nothing(
    client, creator, media_root, bomb
):
    client.force_login(creator)

    response = client.post(
        reverse("creators:api-assets"), {"file": SimpleUploadedFile(bomb.name, bomb.content)}
    )

    assert response.status_code == 400, response.content
    assert bomb.refused_saying in " ".join(response.json()["error"]["fields"]["file"])
    assert not MediaAsset.objects.exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]
