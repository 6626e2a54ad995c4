"""The HTTP API under /api/v1/: authentication, the one error format, and the site-level endpoints."""
