"""onetoone: run Peppers & Rogers' one-to-one programme on a client's own customer data.

Stages: :mod:`onetoone.identify`, :mod:`onetoone.differentiate`, :mod:`onetoone.interact`,
:mod:`onetoone.customize`; the readiness survey in :mod:`onetoone.readiness`; figures and
widgets in :mod:`onetoone.ui`; batch reports in :mod:`onetoone.batch`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("onetoone")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
