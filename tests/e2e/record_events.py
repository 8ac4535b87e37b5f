"""Record the event each task Lambda receives in a real local run: the files in ``events/`` (one per function).

``tests/e2e/test_local_serve.py`` invokes every function of :data:`workflow.functions.ALL_FUNCTIONS` with its
recorded event through ``aws lambda invoke``. This runs the execution the events come from (``recorded-rollout``:
the example organization's ``/Workloads/Prod`` in ``ap-northeast-1``, the canary on) on the local engine with each
handler wrapped to keep the first event it is given, and writes the events of the functions a run calls. Run it
from the repository's root when the shape of a task's input changes::

    PYTHONPATH=. python tests/e2e/record_events.py

``RecordFailure`` is called only after a batch's step failed after its retries, which this run does not provoke:
its event is kept by hand in the shape the Map's Catch passes (the batch and ``error``), its ``BatchInput``
replaced by the one recorded for ``ReconcileSync``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from lambdas import handlers
from workflow.functions import ALL_FUNCTIONS, RECONCILE_SYNC, RECORD_FAILURE, SUMMARIZE, LambdaFunction
from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path

EVENTS = Path(__file__).with_name("events")
#: The objects an event names that only the recorded run wrote (``Summarize``'s names the Distributed Map's
#: manifest): ``objects/<event file>``, ``{key: body}``, put in the bucket before the event is replayed.
OBJECTS = EVENTS / "objects"
EXECUTION_NAME = "recorded-rollout"
EXECUTION_INPUT = {"targets": ["/Workloads/Prod"], "regions": ["ap-northeast-1"]}


def event_file(function: LambdaFunction) -> Path:
    """``events/<function name in kebab case>.json``: ``ClaimAccountRegions`` -> ``claim-account-regions.json``."""
    return EVENTS / (re.sub(r"(?<!^)(?=[A-Z])", "-", function.name).lower() + ".json")


def objects_file(function: LambdaFunction) -> Path:
    """Where the objects ``function``'s event names are kept (the file may not exist: the event names none)."""
    return OBJECTS / event_file(function).name


def record() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The first event of each function the recorded run called, by function name; the Map Run's manifest and
    result files that ``Summarize``'s event names, by key."""
    recorded: dict[str, dict[str, Any]] = {}
    map_results: dict[str, str] = {}

    def keeping(name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(event: dict[str, Any], context: Any) -> Any:
            recorded.setdefault(name, json.loads(json.dumps(event)))
            return handler(event, context)

        return wrapper

    attributes = {f.handler.rsplit(".", 1)[1]: f.name for f in ALL_FUNCTIONS}
    patches = [
        mock.patch.object(handlers, attribute, keeping(name, getattr(handlers, attribute)))
        for attribute, name in attributes.items()
    ]
    for patch in patches:
        patch.start()
    try:
        with LocalRun(example_scenario_path()) as local:
            local.run(EXECUTION_INPUT, name=EXECUTION_NAME)
            written = recorded[SUMMARIZE.name]["mapResults"]["ResultWriterDetails"]
            s3 = local.aws.session(local.scenario.aggregator.account_id).client("s3")
            bucket, prefix = written["Bucket"], written["Key"].rsplit("/", 1)[0] + "/"
            for listed in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
                body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read()
                map_results[listed["Key"]] = body.decode()
    finally:
        for patch in patches:
            patch.stop()
    return recorded, map_results


def main() -> None:
    recorded, map_results = record()
    OBJECTS.mkdir(exist_ok=True)
    objects_file(SUMMARIZE).write_text(json.dumps(map_results, indent=2) + "\n")
    for function in ALL_FUNCTIONS:
        if function.name in recorded:
            event_file(function).write_text(json.dumps(recorded[function.name], indent=2) + "\n")
            print(f"recorded {event_file(function).name}")
        elif function is RECORD_FAILURE:
            # Not called (nothing failed): the kept event's batch takes the recorded run's BatchInput.
            kept = json.loads(event_file(function).read_text())
            kept["BatchInput"] = recorded[RECONCILE_SYNC.name]["BatchInput"]
            event_file(function).write_text(json.dumps(kept, indent=2) + "\n")
            print(f"not called by the recorded run: {function.name} (its kept event takes the run's BatchInput)")
        else:
            raise SystemExit(f"the recorded run did not call {function.name}: record its event another way")


if __name__ == "__main__":
    main()
