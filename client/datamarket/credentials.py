"""The rights each delivered file carries in its C2PA manifest, checked against the bundle's own manifest.

`datamarket verify --content-credentials`: every shard member whose manifest row says `content_credentials:
c2pa` must hold a C2PA manifest that validates (its hash binding covers every byte, so a changed file fails)
and that states the same rights as the row: the uses granted in `cawg.training-mining`, and the license
terms, consent id and release ids in `datamarket.rights`. Reading C2PA needs c2pa-python
(`pip install "datamarket[c2pa]"`); members are read from the shards as streams, never whole into memory.
"""

import importlib.util
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datamarket.bundle import MANIFEST_JSONL, sample_key
from datamarket.errors import ClientError

EMBEDDED = "c2pa"
TRAINING_MINING = "cawg.training-mining"
SITE_RIGHTS = "datamarket.rights"
# Reader states of a manifest whose signature and hash binding check out; Trusted when its signer is on
# the reader's trust list too.
GOOD_STATES = ("Valid", "Trusted")


@dataclass
class CredentialsReport:
    bundle: Path
    checked: int = 0
    without: int = 0  # files whose format C2PA cannot carry (WebM)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        if not self.ok:
            return f"{self.bundle.name}: {len(self.failures)} of {self.checked} content credentials failed"
        text = (
            f"{self.bundle.name}: content credentials of {self.checked} files valid and as the manifest says"
        )
        if not self.without:
            return text
        return f"{text}; {self.without} file{'' if self.without == 1 else 's'} in a format C2PA cannot carry"


def verify_content_credentials(root: Path) -> CredentialsReport:
    """Read every delivered file's C2PA manifest and compare its rights with the file's manifest row."""
    if importlib.util.find_spec("c2pa") is None:
        raise ClientError('reading content credentials needs c2pa-python: pip install "datamarket[c2pa]"')
    import c2pa

    report = CredentialsReport(bundle=root)
    rows = _manifest_rows(root)
    if not any("content_credentials" in row for row in rows.values()):
        raise ClientError(f"{root.name} was built before files carried content credentials: nothing to check")
    for shard in sorted((root / "shards").glob("*.tar")):
        with tarfile.open(shard, "r:") as archive:
            for member in archive:
                if not member.isfile() or member.name.endswith(".json"):
                    continue
                row = rows.get(sample_key(member.name))
                if row is None:
                    report.failures.append(f"{shard.name}/{member.name}: no row in {MANIFEST_JSONL}")
                    continue
                if row.get("content_credentials") != EMBEDDED:
                    report.without += 1
                    continue
                report.checked += 1
                stream = archive.extractfile(member)
                if stream is None:
                    report.failures.append(f"{member.name}: unreadable in {shard.name}")
                    continue
                try:
                    with c2pa.Reader(row["media_type"], stream) as reader:
                        state = reader.get_validation_state()
                        store = json.loads(reader.json())
                except c2pa.C2paError as error:
                    report.failures.append(f"{member.name}: no readable C2PA manifest ({error})")
                    continue
                report.failures += [f"{member.name}: {problem}" for problem in _problems(state, store, row)]
    return report


def _manifest_rows(root: Path) -> dict[str, dict[str, Any]]:
    path = root / MANIFEST_JSONL
    if not path.is_file():
        raise ClientError(f"{root} has no {MANIFEST_JSONL}")
    with path.open("rb") as lines:
        return {row["key"]: row for row in map(json.loads, lines)}


def _problems(state: str | None, store: dict[str, Any], row: dict[str, Any]) -> list[str]:
    if state not in GOOD_STATES:
        return [f"its C2PA manifest is {state or 'unreadable'} (changed since it was signed?)"]
    manifest = store["manifests"][store["active_manifest"]]
    assertions = {item["label"]: item.get("data") or {} for item in manifest.get("assertions", [])}
    entries = assertions.get(TRAINING_MINING, {}).get("entries", {})
    granted = sorted(
        name.removeprefix("cawg.") for name, entry in entries.items() if entry.get("use") != "notAllowed"
    )
    rights = assertions.get(SITE_RIGHTS, {})
    problems = []
    if granted != sorted(row["consent_uses"]):
        problems.append(f"its C2PA grants {granted}, the manifest {sorted(row['consent_uses'])}")
    for name in ("consent_id", "license_terms", "release_ids"):
        if rights.get(name) != row[name]:
            problems.append(f"its C2PA {name} is {rights.get(name)!r}, the manifest's {row[name]!r}")
    return problems
