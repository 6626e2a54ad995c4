"""Datasets, their versions and bundles arrive with the datasets issue."""
