"""The deployment's default targets and regions, read from a file shipped to the functions that use them.

They do not travel in the environment: Lambda allows 4 KB for all of a function's variables together, and
about 150 OU ids fill that (the deployment then fails). The CDK app writes them to ``orgsync/defaults.json`` in
a Lambda layer attached only to ResolveTargets and the enrolment function (mounted at ``/opt``), and sets
``ORGSYNC_DEFAULTS_FILE`` to that path on those two: a layer has no size problem (megabytes), needs no
permission and no call at run time, and changes with the deployment that changes the defaults
(docs/deployment.md, "Reliability and security").

Without ``ORGSYNC_DEFAULTS_FILE`` (the local engine, ``orgsync validate``) the settings are left as they are,
so ``ORGSYNC_DEFAULT_TARGETS``/``ORGSYNC_DEFAULT_REGIONS`` still work there.

Example::

    >>> import json, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "defaults.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"targets": ["ou-ab12-11111111"], "regions": ["eu-west-1"]}, f)
    >>> settings = with_deployed_defaults(Settings(sync_name="acme"), {ENV_DEFAULTS_FILE: path})
    >>> settings.default_targets, settings.default_regions, settings.sync_name
    (('ou-ab12-11111111',), ('eu-west-1',), 'acme')
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from lambdas import invocation
from lambdas.errors import OrgSyncError
from lambdas.settings import Settings

#: The variable naming the defaults file (set by CDK on ResolveTargets and the enrolment function only).
ENV_DEFAULTS_FILE = "ORGSYNC_DEFAULTS_FILE"
#: Where the file is inside the layer (a layer's content is mounted under /opt).
LAYER_FILE = "orgsync/defaults.json"


class DeployedDefaultsUnreadable(OrgSyncError):
    """The deployment's defaults file is missing or malformed: the deployment is broken, not the input."""


def defaults_document(targets: Sequence[str], regions: Sequence[str]) -> str:
    """The file's content, as the CDK app writes it.

    >>> defaults_document(["r-ab12"], ["us-east-1"])
    '{"targets": ["r-ab12"], "regions": ["us-east-1"]}'
    """
    return json.dumps({"targets": list(targets), "regions": list(regions)})


def _string_list(document: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DeployedDefaultsUnreadable(f"{path}: {key} must be a list of strings, not {value!r}")
    return tuple(value)


def with_deployed_defaults(settings: Settings, environ: Mapping[str, str] | None = None) -> Settings:
    """``settings`` with the default targets and regions of the file ``ORGSYNC_DEFAULTS_FILE`` names, if any."""
    env = invocation.environment() if environ is None else environ
    path = env.get(ENV_DEFAULTS_FILE)
    if not path:
        return settings
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except (OSError, ValueError) as exc:
        raise DeployedDefaultsUnreadable(f"{path}: {exc}") from exc
    if not isinstance(document, dict):
        raise DeployedDefaultsUnreadable(f"{path}: expected a JSON object with targets and regions")
    return dataclasses.replace(
        settings,
        default_targets=_string_list(document, "targets", path),
        default_regions=_string_list(document, "regions", path),
    )
