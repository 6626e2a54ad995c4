"""Releases, consent, license terms and the audit log arrive with the licensing issue."""
