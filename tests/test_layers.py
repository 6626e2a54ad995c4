"""The import contracts refuse what they forbid: a reversed import between the layers (marketplace ->
datasets -> licensing -> creators -> core), and Django or an app's models in a pipeline.

The project's own contracts from pyproject.toml are run over a scratch tree of packages with the same names,
in which one module imports what it must not: lint-imports must report the contract broken.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return f'"{value}"'


CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _contract_config() -> str:
    """The project's [tool.importlinter] table, every contract in it, as a file of its own."""
    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {_toml(value)}" for key, value in CONFIG.items() if key != "contracts"]
    for contract in CONFIG["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {_toml(value)}" for key, value in contract.items()]
    return "\n".join(lines) + "\n"


PACKAGES = (
    "marketplace",
    "datasets",
    "licensing",
    "creators",
    "core",
    "creators.ingest",
    "datasets.packaging",
)


def _scratch_tree(tmp_path: Path, imports: dict[str, str]) -> Path:
    for package in PACKAGES:
        folder = tmp_path.joinpath(*package.split("."))
        folder.mkdir()
        (folder / "__init__.py").write_text(imports.get(package, ""))
    # Every module a contract forbids must exist for lint-imports to check it.
    for contract in CONFIG["contracts"]:
        for module in contract.get("forbidden_modules", []):
            package, _, name = module.rpartition(".")
            if package in PACKAGES:
                tmp_path.joinpath(*package.split("."), f"{name}.py").write_text("")
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


@pytest.mark.parametrize("imported", ["django", "creators.models", "marketplace"])
def test_a_pipeline_importing_django_or_an_app_breaks_the_contract(tmp_path, imported):
    config = _scratch_tree(tmp_path, {"creators.ingest": f"import {imported}\n"})

    result = _lint(tmp_path, config)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Pipelines are plain functions over files and bytes: no Django, no app BROKEN" in result.stdout


def test_imports_down_the_layers_keep_the_contract(tmp_path):
    config = _scratch_tree(
        tmp_path,
        {
            "marketplace": "import datasets\n",
            "datasets": "import licensing\n",
            "licensing": "import creators\n",
            "creators": "import core\n",
            "creators.ingest": "import core\n",
        },
    )

    result = _lint(tmp_path, config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout
