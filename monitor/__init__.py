"""newsmon's library: plain functions and records, no orchestration.

Nothing here imports Prefect; ``flows/`` wraps these functions for scheduling.
"""

__version__ = "0.1.0"
