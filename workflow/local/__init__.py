"""The local AWS substrate: a simulated organization, SSM resource data sync emulation, and moto's Step Functions
engine running orgsync's real state machine and Lambda handlers in-process, on a virtual clock.

moto is the ``local`` extra (``pip install 'orgsync[local]'``): someone who only deploys and runs on AWS does not
install it. This package's ``__init__`` imports nothing from moto, so :mod:`workflow.local.scenario` (a file
format) loads without it; the modules that run the engine import moto, and a command that needs them asks
:func:`local_extra_missing` first.

Example::

    >>> local_extra_missing() is None  # moto is installed in the development environment
    True
"""

from __future__ import annotations

import importlib

#: The one line that says what to install for the local engine.
LOCAL_EXTRA_INSTALL = "pip install 'orgsync[local]'"
#: The modules of the ``local`` extra the engine imports (moto, and Flask for moto's server mode).
LOCAL_EXTRA_MODULES = ("moto",)


def local_extra_missing() -> str | None:
    """The message naming what to install when the ``local`` extra is missing, or None when it is installed."""
    for name in LOCAL_EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            return f"the local engine needs {name}, which is not installed: {LOCAL_EXTRA_INSTALL}"
    return None
