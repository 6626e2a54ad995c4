"""Licensing: model and property releases, consent, license terms, review, withdrawal, the audit log."""
