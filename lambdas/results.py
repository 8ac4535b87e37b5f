"""The run's outcomes, read from the Distributed Map's ResultWriter output, and from records where needed.

The Map's state output, with a ResultWriter, is ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``, the key
of the Map Run's ``manifest.json``; the manifest lists the result files (``SUCCEEDED_n.json``, ``FAILED_n.json``,
``PENDING_n.json``), each a JSON array of child executions whose ``Output`` is the child's output as a JSON string
(``docs/aws-behaviour.md``). :func:`collect_outcomes` reads the manifest, then every result file in parallel
(:func:`lambdas.parallel.bounded_map`), and takes the outcomes each succeeded child's output carries
(:func:`outcomes_of_output`): one outcome (``Outcome.to_dict()``), a list of them, or ``{"outcomes": [...]}``.

When the Map could not write its result files (``States.ResultWriterFailed``, caught by the state machine, which
puts the error output ``{"Error", "Cause"}`` where the Map's result would be: :func:`map_results_failure`), the
outcomes come from the records alone: every batch records its outcomes (``results/batches/...``) before its child
ends.

Outcome records (objects under ``orgsync/reports/<execution>/results/``) are read too, in parallel, except those
an output already gave: a batch's record when its child's output carried its first account's outcomes, an
account-region's record when an output carried that account-region. ``Resolve targets`` records the SKIPPED ones,
which never reach the Map; a failed child's batch has only its record; and a child whose output does not carry its
outcomes in full (only ``status`` and ``verification``) has its record read instead. A record holds one outcome or
a list of them.

Example::

    >>> from lambdas.models import Status
    >>> [o.status for o in outcomes_of_output({"outcomes": [{"accountId": "200000000001", "accountName": "a",
    ...     "ouPath": "/", "region": "us-east-1", "status": "IN_SYNC"}]})]
    [<Status.IN_SYNC: 'IN_SYNC'>]
    >>> outcomes_of_output({"status": "IN_SYNC", "verification": "VERIFIED"}) is None  # not in full
    True
    >>> map_results_failure({"Error": "States.ResultWriterFailed", "Cause": "s3:PutObject ... failed: SlowDown"})
    ('States.ResultWriterFailed', 's3:PutObject ... failed: SlowDown')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lambdas.aws import list_object_pages, read_object
from lambdas.models import Outcome, RunParameters
from lambdas.parallel import bounded_map

#: A record of one account-region: ``.../results/<account>/<region>.json``.
_RECORD_KEY = re.compile(r"(?P<account>\d{12})/(?P<region>[a-z0-9-]+)\.json$")
#: A batch's record, named by its first account: ``.../results/batches/<account>.json`` (``report.batch_key``).
_BATCH_RECORD_KEY = re.compile(r"/batches/(?P<account>\d{12})\.json$")
_OUTCOME_KEYS = ("accountId", "region", "status")


class MapResultsUnreadable(Exception):
    """The Map's ResultWriter output is not where its state output says, or not in Step Functions' format."""


def _get(s3: Any, bucket: str, key: str) -> Any:
    body, _ = read_object(s3, bucket, key)
    return json.loads(body)


def _is_outcome(value: Any) -> bool:
    return isinstance(value, Mapping) and all(key in value for key in _OUTCOME_KEYS)


def outcomes_of_output(output: Any) -> list[Outcome] | None:
    """The outcomes a child execution's output carries in full, or None when it carries none.

    An outcome (``Outcome.to_dict()``: at least ``accountId``, ``region`` and ``status``), a list of outcomes,
    or an object whose ``outcomes`` is such a list.
    """
    if isinstance(output, Mapping) and isinstance(output.get("outcomes"), list):
        output = output["outcomes"]
    if _is_outcome(output):
        return [Outcome.from_dict(dict(output))]
    if isinstance(output, list) and output and all(_is_outcome(o) for o in output):
        return [Outcome.from_dict(dict(o)) for o in output]
    return None


def map_results_failure(map_results: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """``(error, cause)`` when ``map_results`` is the error output a Catch of the Map put there (its ResultWriter
    failed, so there are no result files to read), else None."""
    if isinstance(map_results, Mapping) and "Error" in map_results and "ResultWriterDetails" not in map_results:
        return str(map_results["Error"]), str(map_results.get("Cause") or "")
    return None


def map_run_outcomes(s3: Any, map_results: Mapping[str, Any]) -> list[Outcome]:
    """The outcomes in the succeeded children's outputs of the Map Run whose state output is ``map_results``.

    Reads the manifest, then the result files in parallel. A failed child carries no outcome: the report gives
    its account-regions the FAILED outcome of an item that recorded none.

    Example::

        map_run_outcomes(s3, {"MapRunArn": "arn:...", "ResultWriterDetails": {"Bucket": "b", "Key": "m/manifest.json"}})
    """
    details = map_results.get("ResultWriterDetails")
    if not isinstance(details, Mapping) or not details.get("Bucket") or not details.get("Key"):
        raise MapResultsUnreadable(
            f"the Map's state output has no ResultWriterDetails with Bucket and Key: {json.dumps(map_results)[:300]}"
        )
    bucket, key = str(details["Bucket"]), str(details["Key"])
    manifest = _get(s3, bucket, key)
    files = manifest.get("ResultFiles") if isinstance(manifest, Mapping) else None
    if not isinstance(files, Mapping):
        raise MapResultsUnreadable(f"s3://{bucket}/{key} is not a Map Run manifest (no ResultFiles)")
    keys = [str(entry["Key"]) for entry in files.get("SUCCEEDED", [])]
    destination = str(manifest.get("DestinationBucket") or bucket)
    outcomes: list[Outcome] = []
    for entries in bounded_map(lambda file_key: _get(s3, destination, file_key), keys):
        for entry in entries:
            if entry.get("Status") != "SUCCEEDED" or "Output" not in entry:
                continue
            outcomes.extend(outcomes_of_output(json.loads(entry["Output"])) or [])
    return outcomes


def record_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every outcome record's key under ``prefix`` (ListObjectsV2, page by page)."""
    keys: list[str] = []
    for page in list_object_pages(s3, bucket, prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(".json"))
    return keys


def collect_outcomes(
    s3: Any, run: RunParameters, records_prefix: str, map_results: Mapping[str, Any] | None
) -> list[Outcome]:
    """The run's outcomes: from the Map's results (if given and written), then from the records no output covered.

    A record's outcome replaces nothing an output gave (the output is the child's last word); among records, a
    later key's (listing order) replaces an earlier one's. Records are read in parallel. Sorted by account and
    region.

    Example::

        collect_outcomes(s3, run, results_prefix(run.executionName), event.get("mapResults"))
    """
    found: dict[tuple[str, str], Outcome] = {}
    if map_results and map_results_failure(map_results) is None:
        for outcome in map_run_outcomes(s3, map_results):
            found[(outcome.accountId, outcome.region)] = outcome
    bucket = run.destination.bucket
    # A batch's accounts are in no other batch: an output that gave its first account's outcomes was that batch's,
    # and its record (written by the same child before it ended) holds nothing more.
    accounts_given = {account for account, _ in found}
    to_read = []
    for key in record_keys(s3, bucket, records_prefix):
        if (batch := _BATCH_RECORD_KEY.search(key)) is not None:
            if batch["account"] not in accounts_given:
                to_read.append(key)
            continue
        named = _RECORD_KEY.search(key)
        # A per-account-region record whose outcome an output gave is not read again.
        if named is None or (named["account"], named["region"]) not in found:
            to_read.append(key)
    recorded: dict[tuple[str, str], Outcome] = {}
    for record in bounded_map(lambda key: _get(s3, bucket, key), to_read):
        for raw in record if isinstance(record, list) else [record]:
            outcome = Outcome.from_dict(raw)
            recorded[(outcome.accountId, outcome.region)] = outcome  # a later key's record replaces an earlier one
    return sorted({**recorded, **found}.values(), key=lambda o: (o.accountId, o.region))
