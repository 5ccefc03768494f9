"""The one place the web app reaches ``ml``.

* ``SignatureEngine``: the engine's interface, a ``typing.Protocol`` that ``ml.engine.Engine``
  and the tests' fake (``tests/support/fake_engine.py``) both implement;
* engine lookup: one cached engine per checkpoint path and process (``engine_get``), and
  ``engine_load``, which turns a bad checkpoint into a ``DomainError``;
* pad strokes (``strokes_parse``, ``strokes_check``), training and its configuration
  (``train_config_resolve``, ``train_run``), and ``ml``'s errors, re-exported;
* in modules of this package, re-exported here: identification (``identification``: the
  vector index, packed writer parameters, 1:N re-scoring), pen dynamics (``dynamics``:
  ``online_*``, ``pad_*``) and documents (``documents``: page reading and the detector).

Tests inject a fake with ``engine_override(factory)``. Workers load the engine lazily, in
the child process, so CUDA is never touched before fork.
"""

from verification.ml_engine import core as _core
from verification.ml_engine import documents as _documents
from verification.ml_engine import dynamics as _dynamics
from verification.ml_engine import identification as _identification
from verification.ml_engine.core import *  # noqa: F403
from verification.ml_engine.documents import *  # noqa: F403
from verification.ml_engine.dynamics import *  # noqa: F403
from verification.ml_engine.identification import *  # noqa: F403

__all__ = [*_core.__all__, *_documents.__all__, *_dynamics.__all__, *_identification.__all__]
