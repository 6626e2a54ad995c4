"""Where the client keeps the site, the token and each site's public signing key."""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from datamarket.errors import ClientError

DEFAULT_SITE = "http://127.0.0.1:8000"  # what `make run` serves
CONFIG_NAME = "config.json"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "datamarket"


@dataclass(frozen=True)
class Settings:
    site: str
    token: str | None


def normalize_site(site: str) -> str:
    site = site.strip().rstrip("/")
    parts = urlsplit(site)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(f"not a site address: {site!r} (expected e.g. https://market.example.com)", 2)
    return site


def _stored() -> dict[str, str]:
    path = config_dir() / CONFIG_NAME
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ClientError(f"cannot read {path}: {error}; run `datamarket login` again") from error
    return stored if isinstance(stored, dict) else {}


def load() -> Settings:
    """The stored settings, each overridden by DATAMARKET_SITE / DATAMARKET_TOKEN when set."""
    stored = _stored()
    site = os.environ.get("DATAMARKET_SITE") or stored.get("site") or DEFAULT_SITE
    token = os.environ.get("DATAMARKET_TOKEN") or stored.get("token") or None
    return Settings(site=normalize_site(site), token=token)


def save(settings: Settings) -> Path:
    """Write the settings readable by their owner only: the token is as good as a password."""
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / CONFIG_NAME
    temporary = path.with_suffix(".tmp")
    # Created 0600 from the start, so the token is never readable by others, not even for a moment.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump({"site": settings.site, "token": settings.token}, stream, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    return path


def public_key_path(site: str) -> Path:
    """The cached copy of a site's public signing key, named for its host (and port)."""
    host = urlsplit(site).netloc.replace(":", "_")
    return config_dir() / f"{host}.pub.pem"
