import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from datasets.packaging.checksums import (
    SUMS_NAME,
    generate_private_key_pem,
    load_private_key,
    public_key_pem,
    write_signed_sums,
)
from datasets.packaging.croissant import write_croissant
from datasets.packaging.datasheet import write_datasheet
from datasets.packaging.description import CROISSANT_NAME, DATASHEET_NAME
from datasets.packaging.readme import (
    LICENSE_NAME,
    PUBLIC_KEY_FILE,
    README_NAME,
    license_separator,
    license_text,
    readme_markdown,
    write_license,
    write_readme,
)
from tests.datasets.packaging.test_croissant import (
    COMMERCIAL,
    RESEARCH,
    VIDEO_BYTES,
    make_description,
    write_bundle,
)


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def _snippet(text: str, marker: str) -> str:
    (block,) = [block for block in _blocks(text, "python") if marker in block]
    return block


def _bundle(root: Path) -> str:
    """A complete tiny bundle in `root`, signed; returns its README."""
    description, _ = write_bundle(root)
    write_readme(description, root / README_NAME)
    write_license(description, root / LICENSE_NAME)
    write_datasheet(description, root / DATASHEET_NAME)
    write_croissant(description, root / CROISSANT_NAME)
    private_key = load_private_key(generate_private_key_pem())
    write_signed_sums(root, private_key)
    # Saved as the README says, after signing: it is not part of the bundle.
    (root / PUBLIC_KEY_FILE).write_bytes(public_key_pem(private_key))
    return (root / README_NAME).read_text()


def _run(code: str, directory: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    # Isolated (-I): the snippet sees the installed packages and the bundle, as a buyer's script would.
    return subprocess.run(
        [python, "-I", "-c", code],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_webdataset_snippet_reads_every_sample_of_a_real_bundle(tmp_path):
    readme = _bundle(tmp_path)

    result = _run(_snippet(readme, "import webdataset"), tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "p-0001 image/jpeg 32 24 ['ai_training', 'data_mining']",
        "p-0002 image/jpeg 32 24 ['ai_inference']",
        "v-0001 video/mp4 None None []",
    ]


def test_the_pyarrow_and_mlcroissant_snippets_read_the_manifest(tmp_path):
    pytest.importorskip("mlcroissant")
    readme = _bundle(tmp_path)

    manifest = _run(_snippet(readme, "pq.read_table"), tmp_path)
    croissant = _run(_snippet(readme, "import mlcroissant"), tmp_path)

    assert manifest.returncode == 0, manifest.stderr
    assert manifest.stdout.startswith("3 ['key', 'sha256', 'bytes',")
    assert croissant.returncode == 0, croissant.stderr
    assert croissant.stdout.splitlines() == [
        "p-0001",
        "p-0002",
        "v-0001",
        "p-0001 (32, 24)",
        "p-0002 (32, 24)",
    ]


def test_the_hugging_face_snippet_loads_the_photos_and_the_videos(tmp_path, buyer_python):
    readme = _bundle(tmp_path)

    result = _run(_snippet(readme, "load_dataset"), tmp_path, python=buyer_python)

    assert 'pip install "datasets[vision]"' in readme  # what buyer_python has
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["p-0001 (32, 24)", f"v-0001 {len(VIDEO_BYTES)}"]


@pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("sha256sum") is None,
    reason="openssl or sha256sum is missing",
)
def test_the_verify_commands_accept_the_signed_bundle_and_reject_a_changed_one(tmp_path):
    readme = _bundle(tmp_path)
    commands = [shlex.split(block.strip()) for block in _blocks(readme, "sh")]

    assert [command[0] for command in commands] == ["sha256sum", "openssl"]
    for command in commands:
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    (tmp_path / SUMS_NAME).write_bytes((tmp_path / SUMS_NAME).read_bytes() + b"\n")
    tampered = subprocess.run(commands[1], cwd=tmp_path, capture_output=True, check=False)
    assert tampered.returncode != 0


def test_the_layout_names_every_file_of_the_bundle(tmp_path):
    readme = _bundle(tmp_path)
    (layout,) = [block for block in _blocks(readme, "") if block.startswith("city-portraits-v2/\n")]
    # Entries are indented two spaces; their descriptions' continuation lines, more.
    listed = {line.split()[0] for line in layout.splitlines() if re.match(r"  \S", line)}
    in_bundle = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()}

    assert "(also manifest.jsonl)" in layout
    assert {name for name in listed if name.startswith("shards/")} == {
        "shards/city-portraits-v2-photos-000000.tar",
        "shards/city-portraits-v2-videos-000000.tar",
    }
    assert listed | {"manifest.jsonl", PUBLIC_KEY_FILE} == in_bundle


def test_the_layout_and_the_hugging_face_snippet_leave_out_a_series_the_version_lacks():
    photos_only = make_description(shards=make_description().shards[:2])
    readme = readme_markdown(photos_only)

    assert "-photos-" in readme
    assert "-videos-" not in readme
    assert "Video" not in _snippet(readme, "load_dataset")


def test_the_license_summary_states_every_tier_its_uses_and_the_withdrawal_duty():
    readme = readme_markdown(make_description())
    license_section = readme.split("## License\n", 1)[1]

    assert "names you as licensee and the tier you bought" in license_section
    research, commercial = re.findall(r"^\*\*(.+?)\*\* .*\n\n((?:- .*\n)+)", license_section, re.MULTILINE)
    assert research == (
        "Research license, version 1",
        "- Permitted uses: Data mining, AI inference, AI training.\n"
        "- Commercial use: not permitted.\n"
        "- Generating the likeness of people shown: not permitted.\n",
    )
    assert commercial[0] == "Commercial generative license, version 3"
    assert "- Commercial use: permitted.\n" in commercial[1]
    assert "`research/1` in the manifest's `license_terms`" in license_section
    assert "within 30 days" in license_section
    assert "LICENSE.txt" in license_section
    assert "Cite as: Datamarket. City portraits, version 2" in license_section


def test_license_txt_is_a_header_then_each_tier_s_exact_text_under_a_separator(tmp_path):
    text = write_license(make_description(), tmp_path / LICENSE_NAME).read_text()
    header, research, commercial = re.split(
        f"^(?:{re.escape(license_separator(RESEARCH))}|{re.escape(license_separator(COMMERCIAL))})\n\n",
        text,
        flags=re.MULTILINE,
    )

    assert header.splitlines()[0] == "City portraits (city-portraits-v2), version 2"
    assert "Your license certificate names the tier that applies to you" in header
    assert research == RESEARCH.text + "\n"
    assert commercial == COMMERCIAL.text + "\n"  # a final newline, where the text had none
    assert license_separator(COMMERCIAL) == (
        "===== Commercial generative license (commercial-generative), terms version 3: "
        "https://datamarket.example/licenses/commercial-generative/3/ ====="
    )
    assert license_text(make_description()) == text


def test_the_same_description_gives_the_same_readme_bytes(tmp_path):
    first = write_readme(make_description(), tmp_path / "first.md").read_bytes()

    assert write_readme(make_description(), tmp_path / "second.md").read_bytes() == first
