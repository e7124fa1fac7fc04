"""Prefect flows and the `wsad` CLI.

Importing this package changes nothing in the process: the offline defaults for Prefect,
MLflow, DVC and GX are set by the entry points (flows/runtime/offline.py).
"""
