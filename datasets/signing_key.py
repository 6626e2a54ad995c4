"""The site's Ed25519 signing key: SIGNING_KEY when set, else one generated into VAR_DIR on first use."""

import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from datasets.packaging.checksums import generate_private_key_pem, load_private_key

KEY_FILE_NAME = "signing_key.pem"


def signing_key() -> Ed25519PrivateKey:
    """The private key bundles are signed with.

    Production sets SIGNING_KEY (PKCS#8 PEM), so every worker signs with the key whose public half the
    site publishes. The embedded default keeps one in VAR_DIR/signing_key.pem, made by whichever process
    needs it first.
    """
    if settings.SIGNING_KEY:
        return load_private_key(settings.SIGNING_KEY.encode())
    path = Path(settings.VAR_DIR) / KEY_FILE_NAME
    if not path.exists():
        _create_key_file(path)
    return load_private_key(path.read_bytes())


def _create_key_file(path: Path) -> None:
    """Write a new key to `path` unless another process got there first; never a half-written file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mode 0600
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(generate_private_key_pem())
        # link() fails when the name exists, so of two processes racing here one key wins for both.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
