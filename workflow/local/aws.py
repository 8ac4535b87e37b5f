"""``LocalAws``: moto in-process with a scenario's organization seeded and the emulations installed.

A thin composition of one module per job. Entering a :class:`LocalAws` checks moto's internals
(:func:`workflow.local.seams.check_all`), starts ``mock_aws`` (with Step Functions execution enabled, which the
local engine needs), then:

- **seeds** the scenario (:mod:`workflow.local.seeding`): the organization with its exact ids, the member and
  reader roles, the aggregator bucket and the ``existingSyncs``; an IAM user's key in the aggregator account,
  to which the process environment then points default boto3 calls (aggregator account and region);
- installs the resource data sync emulation (:mod:`workflow.local.ssm_sync`) with **SSM's environment**
  (:mod:`workflow.local.ssm_environment`: the clock, the destination check, the marker and inventory writes);
- installs a request boundary (:mod:`workflow.local.faults`) with five guards, in this order: **disabled
  regions** (:mod:`workflow.local.guards`), the **faults** of the scenario and :meth:`LocalAws.add_fault`, the
  **fault rates** of the scenario, **session names** STS refuses (``ValidationError``, as AWS answers) and
  **missing roles** for ``sts:AssumeRole`` (:mod:`workflow.local.guards`); each call is charged its latency from
  the scenario's table (:mod:`workflow.local.latency`) on the caller's simulated timeline.

The **test-control API** (``add_fault``, ``add_account``, ``move_account``, ``set_bucket_policy``,
``sync_names``, ``ou_id``, ``root_id``) comes from :mod:`workflow.local.control`.

Leaving restores everything: patches removed, moto stopped (its state reset), environment restored. A
``LocalAws`` can be entered again, and any number of them one after the other in one process.

Example::

    >>> from workflow.local.scenario import load_scenario, example_scenario_path
    >>> with LocalAws(load_scenario(example_scenario_path())) as aws:
    ...     aws.client("sts").get_caller_identity()["Account"] == aws.aggregator_account_id
    True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC
from types import TracebackType
from typing import Any

import boto3

from workflow.local import latency, seams, ssm_associations, ssm_sync
from workflow.local.client_classes import cached_client_classes
from workflow.local.clock import VirtualClock
from workflow.local.control import ControlApi
from workflow.local.faults import FaultInjector, FaultRateInjector, RequestBoundary
from workflow.local.guards import (
    AccessKeyAccounts,
    disabled_region_guard,
    missing_role_guard,
    role_session_name_guard,
)
from workflow.local.s3_listing import prefix_listing
from workflow.local.scenario import Account, Scenario
from workflow.local.seeding import (
    LOCAL_USER_NAME,
    MEMBER_ROLE_NAME,
    ORGANIZATION_READER_ROLE_NAME,
    Credentials,
    Seeder,
)
from workflow.local.ssm_environment import SsmEnvironment

__all__ = [
    "LOCAL_USER_NAME",
    "MEMBER_ROLE_NAME",
    "MOTO_CONFIG",
    "ORGANIZATION_READER_ROLE_NAME",
    "AccessKeyAccounts",
    "LocalAws",
]

MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}}
_ENV_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_SECURITY_TOKEN",
)


class LocalAws(ControlApi):
    """moto in-process, seeded from ``scenario``, with the SSM sync emulation, faults and AWS's access rules."""

    _active_lock = threading.Lock()
    _active: LocalAws | None = None

    def __init__(self, scenario: Scenario, clock: VirtualClock | None = None) -> None:
        self.scenario = scenario
        self.clock = clock or VirtualClock()
        self.organization_id = scenario.organization.id
        self.aggregator_account_id = scenario.aggregator.account_id
        self.organization_reader_role_arn = (
            f"arn:aws:iam::{scenario.organization.management_account_id}:role/{ORGANIZATION_READER_ROLE_NAME}"
        )
        self._fresh_state()
        self._mock: Any = None
        self._boundary: RequestBoundary | None = None
        self._saved_env: dict[str, str | None] = {}
        self._client_session: boto3.Session | None = None
        self._patches: list[seams.Patch] = []
        self._previous_latencies: latency.LatencyTable | None = None
        self._entered = False

    def _fresh_state(self) -> None:
        scenario = self.scenario
        names = {a.id: a.name for a in scenario.accounts}
        self.faults = FaultInjector(scenario.faults, names)
        #: The scenario's faultRates (which calls they failed: ``fault_rates.raised``).
        self.fault_rates = FaultRateInjector(scenario.fault_rates, names, scenario.fault_seed)
        #: Seconds each call costs on the caller's simulated timeline (the scenario's ``latencies`` on the defaults).
        self.latencies = latency.LatencyTable(scenario.latencies)
        self._ssm = SsmEnvironment(self.clock, self._account, self.organization_id)
        #: The resource data syncs of every account and region (SSM's backends).
        self.syncs = self._ssm.syncs
        #: The State Manager associations of every account and region (inventory collection).
        self.associations = self._ssm.associations
        self._seeder = Seeder(scenario, self._ssm)
        self._credentials = Credentials(scenario.aggregator.region)

    # --- context manager ---------------------------------------------------------------------------------------

    def __enter__(self) -> LocalAws:
        with LocalAws._active_lock:
            if LocalAws._active is not None:
                raise RuntimeError("another LocalAws is active in this process; leave it first")
            LocalAws._active = self
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _start(self) -> None:
        seams.check_all()
        self._saved_env = {key: os.environ.get(key) for key in _ENV_KEYS}
        self._entered = True
        self._fresh_state()
        self._mock = seams.mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        self._seeder.seed(self.scenario.accounts)
        key, secret = self._credentials(self.aggregator_account_id)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SECURITY_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(
            AWS_ACCESS_KEY_ID=key,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_DEFAULT_REGION=self.scenario.aggregator.region,
            AWS_REGION=self.scenario.aggregator.region,
        )
        for account in self.scenario.accounts:
            self._seeder.seed_existing_syncs(account)
        ssm_sync.install(self.syncs)
        ssm_associations.install(self.associations)
        self._boundary = RequestBoundary(
            [
                disabled_region_guard(self._account),
                self.faults,
                self.fault_rates,
                role_session_name_guard,
                missing_role_guard,
            ]
        )
        self._boundary.install()
        self._previous_latencies = latency.use(self.latencies)
        accounts = self._patch(seams.ACCESS_KEY_ACCOUNT, AccessKeyAccounts)
        self._patch(seams.STS_ISSUED_KEY, accounts.issuing)
        # Every object (SSM's marker, the Lambdas' records) is stamped on the virtual clock: the marker check
        # compares LastModified with the sync's creation time, which the emulated SSM takes from that clock.
        self._patch(seams.S3_LAST_MODIFIED, lambda _: lambda: self.clock.now().astimezone(UTC).replace(tzinfo=None))
        self._patch(seams.S3_PREFIX_LISTING, lambda original: prefix_listing(original, seams.FakeBucket))
        self._patch(seams.BOTOCORE_CLIENT_CLASS, cached_client_classes)

    def _patch(self, seam: seams.Seam, make: Callable[[Any], Any]) -> Any:
        """Replace ``seam``'s value with ``make(its value)`` until :meth:`_stop`; returns the replacement."""
        owner, attribute, original = seam.resolve()
        patch = seams.Patch(owner, attribute, make(original))
        patch.install()
        self._patches.append(patch)
        return patch.replacement

    def _stop(self) -> None:
        try:
            if self._previous_latencies is not None:
                latency.use(self._previous_latencies)
                self._previous_latencies = None
            while self._patches:
                self._patches.pop().uninstall()
            if self._boundary is not None:
                self._boundary.uninstall()
                self._boundary = None
            if ssm_sync.installed() is self.syncs:
                ssm_sync.uninstall()
            if ssm_associations.installed() is self.associations:
                ssm_associations.uninstall()
            self._seeder.forget(self.scenario.accounts)
            if self._mock is not None:
                self._mock.stop()
                self._mock = None
        finally:
            if self._entered:
                for key, value in self._saved_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                self._entered = False
            self._client_session = None
            with LocalAws._active_lock:
                if LocalAws._active is self:
                    LocalAws._active = None

    # --- sessions and clients ----------------------------------------------------------------------------------

    def session(self, account_id: str, region: str | None = None) -> boto3.Session:
        """A boto3 session whose calls land in ``account_id`` (an IAM user's key in that account).

        Example: ``aws.session("200000000001", "us-east-1").client("ssm").list_resource_data_sync()``.
        """
        key, secret = self._credentials(account_id)
        return boto3.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name=region or self.scenario.aggregator.region
        )

    def client(self, service: str, account_id: str | None = None, region: str | None = None) -> Any:
        """A client whose calls land in ``account_id`` (default: the aggregator) and ``region`` (default: its)."""
        key, secret = self._credentials(account_id or self.aggregator_account_id)
        if self._client_session is None:
            # One shared session: a client from it costs ~6 ms, a client from a new session ~60 ms.
            self._client_session = boto3.Session()
        return self._client_session.client(
            service,  # type: ignore[call-overload]
            region_name=region or self.scenario.aggregator.region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    @property
    def calls(self) -> dict[tuple[str, str | None], int]:
        """AWS calls made so far, per (``service:Action``, caller's account id): Lambdas, the engine and tests."""
        return dict(self._boundary.calls) if self._boundary is not None else {}

    def credentials(self, account_id: str) -> dict[str, str]:
        """``{"aws_access_key_id", "aws_secret_access_key"}`` of a user in ``account_id`` (for clients of your own)."""
        key, secret = self._credentials(account_id)
        return {"aws_access_key_id": key, "aws_secret_access_key": secret}

    def _account(self, account_id: str) -> Account | None:
        # Read from self.scenario at call time: add_account and move_account replace it.
        try:
            return self.scenario.account(account_id)
        except KeyError:
            return None
