"""Prefect orchestration of the :mod:`monitor` pipeline.

``monitor`` is a plain library that never imports Prefect; this package wraps
it in two flows (``poll-feeds``, ``ingest-url``), publishes dashboard
artifacts, serves the deployments and provides the ``newsmon`` console script.
Importing ``flows`` (or ``flows.cli``/``flows.present``) does not import Prefect:
the CLI's read-only commands must stay fast, so Prefect is imported only by the
modules that define flows and by the commands that run them.
"""
