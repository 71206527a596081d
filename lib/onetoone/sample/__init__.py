"""Deterministic generator of the sample client (``data/sample/`` is its output).

``generate(out_dir, seed=1994, people=20000)`` writes the client's exports in their own
formats, ``client.yaml`` mapping them onto the canonical model, and ``ground_truth/`` (which
client.yaml never references). The same seed gives byte-identical files.
"""

from .generator import generate

__all__ = ["generate"]
