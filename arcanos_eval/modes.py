"""Where a run's answers come from: the :class:`Mode` every decision about golden, cache and model
calls asks, instead of testing mode names.

==========  ============  =============  ============  ============  ==============================
mode        reads golden  writes golden  reads cache   writes cache  calls a model
==========  ============  =============  ============  ============  ==============================
replay      yes           no             no            no            never
record      yes           yes            yes           yes           what golden and the cache lack
refresh     no            yes            no            yes           always
live        no            no             no            no            always
auto        yes           no             yes           yes           for the rest, when it can
batch       yes           no             yes           yes           via the Batch API, when it can
==========  ============  =============  ============  ============  ==============================

``record`` writes into golden every answer golden lacks, whether the cache or a call gave it (with
the provenance of the call that made it); ``refresh`` overwrites what golden holds. The README's
mode table says the same (``tests/test_modes_table.py`` holds both to these properties and to a
run).
"""

from __future__ import annotations

from enum import Enum

__all__ = ["MODES", "Mode"]


class Mode(str, Enum):
    """A run mode; equal to its name as text, so ``Mode.REPLAY == "replay"``."""

    REPLAY = "replay"
    RECORD = "record"
    REFRESH = "refresh"
    LIVE = "live"
    AUTO = "auto"
    BATCH = "batch"

    def __str__(self) -> str:
        return self.value

    @property
    def reads_golden(self) -> bool:
        """Recorded answers are used before any call."""
        return self in (Mode.REPLAY, Mode.RECORD, Mode.AUTO, Mode.BATCH)

    @property
    def writes_golden(self) -> bool:
        """New answers are recorded into the golden store (with their requests and provenance)."""
        return self in (Mode.RECORD, Mode.REFRESH)

    @property
    def reads_cache(self) -> bool:
        """The local cache answers what golden lacks, before any call."""
        return self in (Mode.RECORD, Mode.AUTO, Mode.BATCH)

    @property
    def writes_cache(self) -> bool:
        """New answers are kept in the local cache."""
        return self in (Mode.RECORD, Mode.REFRESH, Mode.AUTO, Mode.BATCH)

    @property
    def may_call(self) -> bool:
        """A model may be called at all."""
        return self is not Mode.REPLAY

    @property
    def needs_credentials_to_call(self) -> bool:
        """Calls are made only for targets that can be called (a key or their own ``base_url``);
        for the others a missing answer is a replay error."""
        return self in (Mode.AUTO, Mode.BATCH)

    @property
    def calls_one_by_one(self) -> bool:
        """Answers arrive call by call from a model (not all at once from recordings or a batch),
        so work can overlap them."""
        return self in (Mode.RECORD, Mode.REFRESH, Mode.LIVE, Mode.AUTO)


MODES: tuple[str, ...] = tuple(m.value for m in Mode)
