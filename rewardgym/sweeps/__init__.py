"""The sweep engine: env x reward spec x agent x seed grids, run locally or on Ray, stored safely.

Example:
    >>> from rewardgym.sweeps import PRESETS
    >>> PRESETS
    ('quick', 'multiagent', 'standard')

``run_sweep(spec, "runs")`` runs it into ``runs/<spec name>/`` (see :mod:`.runner`); the results
are read back with ``ResultsStore(run_dir).trials()`` and ``.curves()``.
"""

from rewardgym.sweeps.runner import run_sweep
from rewardgym.sweeps.spec import (
    PRESETS,
    AgentSpec,
    SweepSpec,
    SweepSpecError,
    Trial,
    load_spec,
)
from rewardgym.sweeps.store import ResultsStore, TrialRecord

__all__ = [
    "PRESETS",
    "AgentSpec",
    "ResultsStore",
    "SweepSpec",
    "SweepSpecError",
    "Trial",
    "TrialRecord",
    "load_spec",
    "run_sweep",
]
