"""The production settings, with static files collected beside the scratch site's data and not precompressed.

STATIC_ROOT is fixed in the production settings (the image collects into the project folder at build time);
a load run collects into its own scratch folder instead, so it leaves nothing behind in the project.

The files keep their hashed names, so pages link them as in production, but they are not precompressed:
compressing every vendored file (Swagger UI, the admin) with Brotli takes minutes on a small machine, and
compression saves bytes on the wire, which a loopback run does not pay for. WhiteNoise serves them as it
serves any file.
"""

from marketplace.settings import *  # noqa: F403
from marketplace.settings import STORAGES, VAR_DIR

STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
