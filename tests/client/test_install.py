"""The client installs on its own, without Django: `pip install ./client` into a fresh virtual environment."""

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "client"
# What pip says when it cannot get cryptography (or setuptools, to build) from any index: no network here.
UNREACHABLE_INDEX = ("No matching distribution found", "Could not find a version", "NewConnectionError")


def test_the_client_installs_alone_without_django(tmp_path):
    # A copy, so that building it leaves nothing in the repository's folder.
    source = shutil.copytree(
        CLIENT, tmp_path / "client", ignore=shutil.ignore_patterns("*.egg-info", "build")
    )
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"

    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(source)], capture_output=True, text=True, check=False
    )
    if installed.returncode != 0 and any(sign in installed.stderr for sign in UNREACHABLE_INDEX):
        pytest.skip(f"no package index reachable for the client's dependencies: {installed.stderr[-300:]}")
    assert installed.returncode == 0, installed.stderr

    helped = subprocess.run(
        [environment / "bin" / "datamarket", "--help"], capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0, helped.stderr
    assert "download" in helped.stdout
    django = subprocess.run([python, "-c", "import django"], capture_output=True, text=True, check=False)
    assert django.returncode != 0
    assert "No module named 'django'" in django.stderr
