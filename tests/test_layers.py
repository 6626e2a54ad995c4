"""The layer contract (marketplace -> datasets -> licensing -> creators -> core) refuses a reversed import.

The project's own contract from pyproject.toml is run over a scratch tree of five packages with the same
names, in which the lowest layer imports the highest: lint-imports must report the contract broken.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contract_config() -> str:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = contracts["contracts"]
    layers = ", ".join(f'"{layer}"' for layer in contract["layers"])
    roots = ", ".join(f'"{root}"' for root in contracts["root_packages"])
    return (
        f"[tool.importlinter]\nroot_packages = [{roots}]\n\n"
        f'[[tool.importlinter.contracts]]\nname = "{contract["name"]}"\ntype = "{contract["type"]}"\n'
        f"layers = [{layers}]\n"
    )


def _scratch_tree(tmp_path: Path, imports: dict[str, str]) -> Path:
    for package in ("marketplace", "datasets", "licensing", "creators", "core"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(imports.get(package, ""))
    config = tmp_path / "contract.toml"
    config.write_text(_contract_config())
    return config


def _lint(tmp_path: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("importer", "imported"), [("creators", "marketplace"), ("licensing", "datasets"), ("core", "creators")]
)
def test_a_reversed_import_breaks_the_contract(tmp_path, importer, imported):
    config = _scratch_tree(tmp_path, {importer: f"import {imported}\n"})

    result = _lint(tmp_path, config)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert f"{importer} -> {imported}" in result.stdout


def test_imports_down_the_layers_keep_the_contract(tmp_path):
    config = _scratch_tree(
        tmp_path,
        {
            "marketplace": "import datasets\n",
            "datasets": "import licensing\n",
            "licensing": "import creators\n",
        },
    )

    result = _lint(tmp_path, config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout
