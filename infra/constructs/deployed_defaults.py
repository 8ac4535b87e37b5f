"""The deployment's default targets and regions, as a Lambda layer given only to the functions that read them.

Lambda limits a function's environment to 4 KB in all, and the default targets may be hundreds of OU ids, so
they are not environment variables (docs/deployment.md, "Reliability and security", says why a layer rather
than an SSM parameter, an S3 object or the schedule's input). The layer
holds one file, ``orgsync/defaults.json`` (mounted at ``/opt/orgsync/defaults.json``); :meth:`DeployedDefaults.give_to`
attaches it to a function and points ``ORGSYNC_DEFAULTS_FILE`` at it. ResolveTargets (an input without
``targets`` or ``regions``) and the enrolment function (``within`` and the check that regions exist) get it;
the scheduled run names its targets and regions in its own input.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.task_functions import RUNTIME
from lambdas.defaults import ENV_DEFAULTS_FILE, LAYER_FILE, defaults_document

#: Where Lambda mounts a layer's content.
LAYER_MOUNT = "/opt"


@dataclass(frozen=True)
class DeployedDefaultsProps:
    targets: Sequence[str]
    regions: Sequence[str]


def defaults_directory(targets: Sequence[str], regions: Sequence[str]) -> Path:
    """A fresh directory holding ``orgsync/defaults.json`` (the layer's asset; CDK hashes its content)."""
    directory = Path(tempfile.mkdtemp(prefix="orgsync-defaults-"))
    path = directory / LAYER_FILE
    path.parent.mkdir(parents=True)
    path.write_text(defaults_document(targets, regions), encoding="utf-8")
    return directory


class DeployedDefaults(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: DeployedDefaultsProps) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(defaults_directory(props.targets, props.regions))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="orgsync: the deployment's default targets and regions (orgsync/defaults.json)",
        )
        self.path = f"{LAYER_MOUNT}/{LAYER_FILE}"

    def give_to(self, function: lambda_.Function) -> None:
        """Let ``function`` read the defaults: the layer, and the variable naming the file."""
        function.add_layers(self.layer)
        function.add_environment(ENV_DEFAULTS_FILE, self.path)
