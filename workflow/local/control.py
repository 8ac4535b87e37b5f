"""Changing a running ``LocalAws`` from a test or the CLI: faults, accounts, OUs, the bucket policy, and reading syncs.

:class:`ControlApi` holds these methods; ``LocalAws`` inherits them, so a caller writes ``aws.add_fault(...)``.
Every change goes through the same validation as the scenario file (:func:`workflow.local.scenario.parse_fault`,
:func:`~workflow.local.scenario.parse_account`) and the same seeding as the start (:mod:`workflow.local.seeding`).

Example::

    >>> from workflow.local.scenario import example_scenario_path, load_scenario
    >>> from workflow.local.aws import LocalAws
    >>> with LocalAws(load_scenario(example_scenario_path())) as aws:
    ...     fault = aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", times=2)
    ...     (fault.error, fault.times)
    ('ThrottlingException', 2)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from workflow.local.clock import VirtualClock
from workflow.local.faults import FaultInjector, FaultRateInjector
from workflow.local.inventory import account_nodes
from workflow.local.scenario import Account, Fault, Node, Scenario, parse_account, parse_fault
from workflow.local.seeding import Seeder
from workflow.local.ssm_environment import SsmEnvironment


class ControlApi:
    """Run-time changes of a started ``LocalAws`` (the attributes below are its own)."""

    scenario: Scenario
    clock: VirtualClock
    faults: FaultInjector
    fault_rates: FaultRateInjector
    _seeder: Seeder
    _ssm: SsmEnvironment

    def add_fault(
        self,
        api: str,
        error: str,
        times: int = 1,
        account: str | None = None,
        region: str | None = None,
        message: str | None = None,
        http_status: int | None = None,
        key: str | None = None,
    ) -> Fault:
        """Inject a fault from now on (same fields as the scenario's ``faults``; ``account`` is a NAME).

        Example: ``aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", times=2, account="sb-1")``.
        """
        spec: dict[str, Any] = {"api": api, "error": error, "times": times}
        optional = {"account": account, "region": region, "message": message, "httpStatus": http_status, "key": key}
        spec.update({k: v for k, v in optional.items() if v is not None})
        fault = parse_fault(spec, {a.name for a in self.scenario.accounts})
        self.faults.add(fault)
        return fault

    def add_account(self, ou_path: str, name: str, account_id: str | None = None, **account_fields: Any) -> str:
        """Add an account to the OU at ``ou_path`` (``"/"`` for the root) after the start; returns its id.

        ``account_fields`` take the scenario's keys: ``memberRole``, ``state``, ``instances``,
        ``markerDelaySeconds``, ``disabledRegions``, ``existingSyncs``, ``email``.
        Example: ``aws.add_account("/Workloads/Prod", "prod-new", memberRole=False)``.
        """
        known = self._seeder.ou_ids
        if ou_path not in known:
            raise ValueError(f"no OU at path {ou_path!r} (known: {', '.join(sorted(known))})")
        data: dict[str, Any] = {"name": name, **account_fields}
        if account_id is not None:
            data["id"] = account_id
        account = parse_account(data, ou_path, self.scenario.accounts, source="add_account")
        self.scenario = dataclasses.replace(self.scenario, accounts=(*self.scenario.accounts, account))
        self._seeder.seed_account(account)
        self._seeder.seed_existing_syncs(account)
        self.faults.name_account(account.id, account.name)
        self.fault_rates.name_account(account.id, account.name)
        return account.id

    def move_account(self, account_id: str, ou_path: str) -> None:
        """Move an account to the OU at ``ou_path`` (``"/"`` for the root)."""
        account = self.scenario.account(account_id)
        self._seeder.place_account(account_id, ou_path)
        moved = dataclasses.replace(account, ou_path=ou_path)
        self.scenario = dataclasses.replace(
            self.scenario, accounts=tuple(moved if a.id == account_id else a for a in self.scenario.accounts)
        )

    def find_node(self, node_id: str) -> tuple[Account, Node]:
        """The account holding managed node ``node_id`` (listed or counted) and the node; KeyError if none does."""
        for account in self.scenario.accounts:
            for region in sorted(account.instances):
                for node in account_nodes(account, region):
                    if node.id == node_id:
                        return account, node
        raise KeyError(node_id)

    def terminate_node(self, node_id: str) -> Node:
        """Terminate managed node ``node_id``, as EC2's TerminateInstances would; returns the node as it is now.

        SSM then reports it ``Terminated`` (its ``AWS:InstanceInformation``, exported by every working sync of the
        account-region) and keeps its other inventory files. A counted node keeps its derived id, platform and
        software: the account's nodes are listed from then on. Terminating a terminated node changes nothing (as
        on EC2). Example: ``aws.terminate_node("i-0a1b2c3d4e5f60729")``.
        """
        account, node = self.find_node(node_id)
        if node.state == "terminated":
            return node
        terminated = dataclasses.replace(node, state="terminated")
        nodes = [
            terminated if listed.id == node_id else listed
            for region in sorted(account.instances)
            for listed in account_nodes(account, region)
        ]
        changed = dataclasses.replace(account, nodes=tuple(nodes))
        self.scenario = dataclasses.replace(
            self.scenario, accounts=tuple(changed if a.id == account.id else a for a in self.scenario.accounts)
        )
        self._ssm.node_status_changed(account.id, terminated)
        return terminated

    def set_bucket_policy(self, kind: str, propagation_seconds: float = 0) -> None:
        """Replace the aggregator bucket's policy with the documented one of ``kind`` (or none).

        For ``propagation_seconds`` of simulated time SSM still sees the previous policy (S3 shows the new one at
        once), as after a real policy change.
        """
        old = self._seeder.put_bucket_policy(kind)
        self._ssm.policy_changed(self.scenario.aggregator.bucket, old, propagation_seconds)

    def sync_names(self, account_id: str, region: str) -> list[str]:
        """The names of the syncs of ``account_id`` in ``region``, in creation order (read from the backend)."""
        return list(self._ssm.syncs.backend(account_id, region).syncs)

    def ou_id(self, ou_path: str) -> str:
        """The Organizations id of the OU at ``ou_path`` (``"/"`` is the root)."""
        return self._seeder.ou_ids[ou_path]

    @property
    def root_id(self) -> str:
        """The organization root's id."""
        return self._seeder.root_id
