"""Test helpers shared across scopes (``fuzzing``: the Hypothesis strategies of malformed inputs) live in tests/."""

from __future__ import annotations

import sys
from pathlib import Path

# Test modules import their own directory's helpers by name (pytest puts that directory first on sys.path); this
# makes tests/ itself importable the same way, for helpers that unit, CLI and e2e tests share.
TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
