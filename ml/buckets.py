"""Reference-count buckets of the operating points: 1, 2-4, 5-9 and 10 or more references.

Every operating point SigWeb ships is per bucket: the image decision's
(``decision.thresholds`` in a checkpoint, ``Engine.threshold_for``) and the pad decision's
(``ml.online.verifier.OnlineParams.threshold_for``). Each bucket's point is fitted on
validation writers at one reference count inside it (``BUCKET_PROTOCOL_REFS``). No torch here:
``ml.online`` reads it too.
"""

from __future__ import annotations

BUCKETS = ((1, 1), (2, 4), (5, 9), (10, None))
BUCKET_PROTOCOL_REFS = (1, 3, 5, 10)  # one protocol reference count inside each bucket


def bucket_name(n_refs: int) -> str:
    n = int(n_refs)
    for lo, hi in BUCKETS:
        if n >= lo and (hi is None or n <= hi):
            return f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}")
    raise ValueError(f"bad reference count {n_refs}")


BUCKET_NAMES = tuple(bucket_name(lo) for lo, _ in BUCKETS)
BUCKET_REFS = dict(zip(BUCKET_NAMES, BUCKET_PROTOCOL_REFS, strict=True))  # bucket -> the count it is fitted at
