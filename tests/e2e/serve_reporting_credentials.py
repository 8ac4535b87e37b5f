"""``orgsync local serve`` as a user runs it, that also lists, when it stops, every credential its simulated AWS issued.

``python -m serve_reporting_credentials FILE local serve --scenario ...`` (with this directory on ``PYTHONPATH``)
runs ``workflow.cli`` with the arguments after ``FILE``; just before the server takes the simulated AWS down it
writes to ``FILE`` the access key, secret and session token of every role session STS issued (the member roles
clients assumed, the functions' execution roles, the roles the functions assumed) and the access keys of every
IAM user (the aggregator's user whose key any client's key stands for). ``test_local_serve_credentials.py`` then
looks for each of them in what the server and its clients printed. Nothing else of the command is changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from workflow import cli
from workflow.local.server import LocalServer


def issued_credentials() -> list[dict[str, str]]:
    """Every role session and IAM user key the simulated AWS holds, with what issued it."""
    found: list[dict[str, str]] = []
    for by_partition in list(sts_backends.values()):
        for backend in list(by_partition.values()):
            for role in backend.assumed_roles:
                found.append(
                    {
                        "issuedTo": f"{role.role_arn} ({role.session_name})",
                        "accessKeyId": role.access_key_id,
                        "secretAccessKey": role.secret_access_key,
                        "sessionToken": role.session_token,
                    }
                )
    for account_id, by_partition in list(iam_backends.items()):
        for backend in list(by_partition.values()):
            for user in backend.users.values():
                for key in user.access_keys:
                    found.append(
                        {
                            "issuedTo": f"arn:aws:iam::{account_id}:user/{user.name}",
                            "accessKeyId": key.access_key_id,
                            "secretAccessKey": key.secret_access_key,
                        }
                    )
    return found


def main() -> None:
    report = Path(sys.argv[1])
    stop = LocalServer.stop

    def stop_reporting(self: LocalServer) -> None:
        if self.run is not None:
            report.write_text(json.dumps(issued_credentials()))
        stop(self)

    LocalServer.stop = stop_reporting  # type: ignore[method-assign]
    arguments: Any = sys.argv[2:]
    cli.main(arguments)


if __name__ == "__main__":
    main()
