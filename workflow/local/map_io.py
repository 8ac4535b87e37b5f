"""A Distributed Map's own S3 calls failing as on AWS: ``States.ItemReaderFailed`` and ``States.ResultWriterFailed``.

Step Functions reads a Distributed Map's items (``ItemReader``, ``s3:getObject``) and writes its result files
(``ResultWriter``, ``s3:putObject``) itself. When it cannot, the Map state fails with ``States.ItemReaderFailed``
(before any child execution runs) or ``States.ResultWriterFailed`` (after they all ran), names a Retry or Catch on
the Map state matches (``docs/aws-behaviour.md``, Step Functions). moto 5.2.5 lets the S3 client's error escape,
and the Map fails with ``States.Runtime``, which no Catch matches.

Split like a moto service: :func:`s3_failure_cause` and :class:`MapS3Failure` decide the name and the cause
(plain Python, no moto); :func:`failing_as` is the wire, raising moto's ``FailureEventException`` with
a ``States.*`` error name (``States.TaskFailed`` does not match it, as on AWS) so the interpreter's Retry, Catch
and history treat it as Step Functions does. The engine wraps the ItemReader's ``s3:getObject``
(:func:`item_reader_patch`); :mod:`workflow.local.map_results` writes the ResultWriter's files inside
:func:`failing_as`. What the cause says is this emulation's own wording (AWS documents only the error names): the
S3 action, the object and the S3 error code and message.

Example::

    >>> from botocore.exceptions import ClientError
    >>> error = ClientError({"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}},
    ...                     "GetObject")
    >>> s3_failure_cause("GetObject", "acme-inventory", "runs/e1/targets.json", error)
    's3:GetObject of s3://acme-inventory/runs/e1/targets.json failed: NoSuchKey: The specified key does not exist.'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.errors import ITEM_READER_FAILED, RESULT_WRITER_FAILED
from workflow.local import seams

#: The moto error name type of each Step Functions name this module raises.
_ERROR_TYPES = {
    ITEM_READER_FAILED: seams.StatesErrorNameType.StatesItemReaderFailed,
    RESULT_WRITER_FAILED: seams.StatesErrorNameType.StatesResultWriterFailed,
}
#: The S3 call failures of the interpreter's client (retries off): an answered error, or a dropped connection.
S3_CALL_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)


@dataclass(frozen=True)
class MapS3Failure:
    """A Map's own S3 call failed: ``error`` is Step Functions' name, ``cause`` names the call and the S3 error."""

    error: str
    cause: str


def s3_failure_cause(action: str, bucket: str, key: str, exc: Exception) -> str:
    """The cause of a failed S3 call of the Map: the action, the object, the S3 error code and message."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        what = f"{error.get('Code', 'Unknown')}: {error.get('Message', '')}".rstrip(": ")
    else:
        what = f"{type(exc).__name__}: {exc}"
    return f"s3:{action} of s3://{bucket}/{key} failed: {what}"


def failure_event_exception(env: Any, failure: MapS3Failure) -> Exception:
    """moto's ``FailureEventException`` for ``failure``: the Map state's error and cause, as its Catch sees them."""
    name = seams.StatesErrorName(typ=_ERROR_TYPES[failure.error])
    event = seams.FailureEvent(
        env=env,
        error_name=name,
        event_type=seams.HistoryEventType.TaskFailed,
        # One key, as moto's own failure events carry (moto declares the TypedDict total).
        event_details=cast(
            seams.EventDetails,
            {"mapRunFailedEventDetails": seams.MapRunFailedEventDetails(error=failure.error, cause=failure.cause)},
        ),
    )
    exception: Exception = seams.FailureEventException(failure_event=event)
    return exception


@contextmanager
def failing_as(env: Any, error: str, action: str, bucket: str, key: str) -> Iterator[None]:
    """Run the Map's S3 call ``action`` on ``s3://bucket/key``; its failure fails the Map state with ``error``.

    Example::

        with failing_as(env, RESULT_WRITER_FAILED, "PutObject", bucket, key):
            s3.put_object(Bucket=bucket, Key=key, Body=body)
    """
    try:
        yield
    except S3_CALL_ERRORS as exc:
        failure = MapS3Failure(error, s3_failure_cause(action, bucket, key, exc))
        raise failure_event_exception(env, failure) from exc


def item_reader_patch() -> tuple[seams.Seam, Any]:
    """``(seam, replacement)``: the ItemReader's ``s3:getObject``, whose failure is ``States.ItemReaderFailed``."""
    original: Callable[[Any, Any, Any], None] = seams.ITEM_READER_GET_OBJECT.resolve()[2]

    def get_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack[-1] if env.stack and isinstance(env.stack[-1], dict) else {}
        bucket, key = str(parameters.get("Bucket", "")), str(parameters.get("Key", ""))
        with failing_as(env, ITEM_READER_FAILED, "GetObject", bucket, key):
            original(env, resource_runtime_part, state_credentials)

    return seams.ITEM_READER_GET_OBJECT, staticmethod(get_object)
