"""Creators: profiles, media assets, upload and the ingest pipeline. The lowest layer."""
