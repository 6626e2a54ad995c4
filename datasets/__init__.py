"""Datasets: curation, immutable dataset versions, bundle building and catalog statistics."""
