"""Preloaded by the forkserver ``newsmon serve`` starts its flow runs from.

Prefect's runner starts every flow run in a fresh Python process. Spawned cold,
that process spends about 2 s importing Prefect, the flows and the pipeline and
1.4 s more loading the language model on the first page, most of the 5 s an
operator should wait for an ``ingest-url`` verdict. Imported here once, in a
single-threaded forkserver, all of it is inherited by every run the server
forks (see :func:`flows.serve.enable_warm_starts`). Importing this module has
that side effect on purpose and nothing else. The collector is off while it
loads and frozen last (:mod:`monitor.lifetime`): the forked runs' collections
then skip what was loaded here, and leave those pages shared with the
forkserver instead of writing to them.
"""

from __future__ import annotations

from monitor.lifetime import loaded_for_good

with loaded_for_good():  # the collector off while everything loads, then frozen
    import prefect.flow_engine  # noqa: F401  (the engine every run enters)
    import trafilatura  # noqa: F401

    import flows.ingest
    import flows.poll  # noqa: F401
    from monitor import language

    # Long enough to reach the model (shorter text is not classified, so nothing loads).
    language.detect_language(
        "Le président russe a rencontré le dirigeant nord-coréen à Pyongyang pour signer un "
        "traité de partenariat stratégique global entre les deux pays."
    )
