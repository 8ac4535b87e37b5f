"""A Distributed Map's ``ItemBatcher`` on the local engine, following AWS's documented behaviour.

moto 5.2.5's ASL grammar has no ``ItemBatcher``: it refuses a definition holding one. The engine therefore moves the
field, before moto parses the definition, into the ``Comment`` of the Map's ``ItemProcessor`` (the one place the
grammar keeps free text that reaches the Map's iteration component), and batches the items itself when the Map
Run starts (the :data:`workflow.local.seams.DISTRIBUTED_MAP_RUN` seam), as Step Functions documents it
("ItemBatcher (Map)", Step Functions Developer Guide):

- each child execution gets ``{"BatchInput": <BatchInput>, "Items": [...]}`` (``BatchInput`` only when the
  field is there), the items in their order;
- a batch holds at most ``MaxItemsPerBatch`` items and at most ``MaxInputBytesPerBatch`` bytes of input (at most
  256 KiB, the payload quota), whichever comes first; at least one of the two (or its ``...Path`` form, read
  from the state input) must be given;
- ``BatchInput`` is a payload template: ``"key.$"`` values are paths into the state input (``$``) or the context
  object (``$$``).

Not emulated (refused with a message, never guessed): intrinsic functions in ``BatchInput``, ``ItemSelector``
together with ``ItemBatcher``, and JSONata. A single item larger than ``MaxInputBytesPerBatch`` fails the Map
Run (:class:`ItemTooLarge`).

Example::

    >>> document = {"States": {"M": {"Type": "Map", "ItemBatcher": {"MaxItemsPerBatch": 2},
    ...                              "ItemProcessor": {"StartAt": "P", "States": {}}}}}
    >>> hide_item_batchers(document)
    True
    >>> config = batcher_of(document["States"]["M"]["ItemProcessor"]["Comment"])
    >>> config
    {'MaxItemsPerBatch': 2}
    >>> batches([1, 2, 3], config, lambda path: None, lambda path: None)
    [{'Items': [1, 2]}, {'Items': [3]}]
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

#: Where the engine keeps a Map's ItemBatcher inside its ItemProcessor's Comment.
MARKER = "[orgsync local engine: ItemBatcher] "
#: The payload quota of a child's input (Step Functions quotas).
MAX_INPUT_BYTES = 256 * 1024
FIELDS = frozenset(
    {"MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", "BatchInput"}
)

#: Reads a JSONPath in the state input (``$...``) or in the context object (``$$...`` given as ``$...``).
PathReader = Callable[[str], Any]


class ItemBatcherNotEmulated(ValueError):
    """The definition uses an ItemBatcher form the local engine does not emulate (the message says which)."""


class ItemTooLarge(RuntimeError):
    """An item alone is larger than MaxInputBytesPerBatch: the Map Run fails, as on AWS."""


def _maps(states: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for state in states.values():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Map":
            found.append(state)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, dict):
            found.extend(_maps(processor.get("States") or {}))
        for branch in state.get("Branches") or []:
            found.extend(_maps(branch.get("States") or {}))
    return found


def hide_item_batchers(document: dict[str, Any]) -> bool:
    """Move every Map's ``ItemBatcher`` into its ItemProcessor's ``Comment`` (in place); True if any moved.

    Raises :class:`ItemBatcherNotEmulated` for a form the engine does not emulate.
    """
    changed = False
    for state in _maps(document.get("States") or {}):
        config = state.pop("ItemBatcher", None)
        if config is None:
            continue
        if not isinstance(config, dict) or not config or set(config) - FIELDS:
            raise ItemBatcherNotEmulated(f"ItemBatcher {json.dumps(config)}: fields are {sorted(FIELDS)}")
        if not (
            {"MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"}
            & set(config)
        ):
            raise ItemBatcherNotEmulated("ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or a ...Path)")
        if "ItemSelector" in state or "Parameters" in state:
            raise ItemBatcherNotEmulated("ItemBatcher together with ItemSelector is not emulated by the local engine")
        processor = state.get("ItemProcessor")
        if not isinstance(processor, dict):
            raise ItemBatcherNotEmulated("ItemBatcher needs the Map's ItemProcessor (a Distributed Map)")
        comment = str(processor.get("Comment") or "")
        # Base64: moto keeps a Comment as its JSON string literal, escapes included.
        kept = MARKER + base64.b64encode(json.dumps(config).encode()).decode()
        processor["Comment"] = f"{comment} {kept}" if comment else kept
        changed = True
    return changed


def batcher_of(comment: str | None) -> dict[str, Any] | None:
    """The ItemBatcher :func:`hide_item_batchers` kept in an ItemProcessor's ``comment``, or None."""
    if not comment or MARKER not in comment:
        return None
    found: dict[str, Any] = json.loads(base64.b64decode(comment.rsplit(MARKER, 1)[1].split()[0]))
    return found


def _template(template: Any, state_input: PathReader, context: PathReader) -> Any:
    """A payload template evaluated: ``"key.$"`` paths read the state input (``$``) or the context (``$$``)."""
    if isinstance(template, list):
        return [_template(value, state_input, context) for value in template]
    if not isinstance(template, dict):
        return template
    evaluated: dict[str, Any] = {}
    for key, value in template.items():
        if not key.endswith(".$"):
            evaluated[key] = _template(value, state_input, context)
            continue
        path = str(value)
        if path.startswith("$$"):
            evaluated[key[:-2]] = context(path[1:])
        elif path.startswith("$"):
            evaluated[key[:-2]] = state_input(path)
        else:
            raise ItemBatcherNotEmulated(f"BatchInput {key}: {path!r} (intrinsic functions are not emulated)")
    return evaluated


def _limit(config: dict[str, Any], name: str, state_input: PathReader) -> int | None:
    if name in config:
        return int(config[name])
    if f"{name}Path" in config:
        return int(state_input(str(config[f"{name}Path"])))
    return None


def _size(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")).encode())


def batches(items: list[Any], config: dict[str, Any], state_input: PathReader, context: PathReader) -> list[Any]:
    """``items`` as the children's inputs under ``config`` (an ItemBatcher), in order.

    >>> batches(["a" * 10, "b" * 10, "c"], {"MaxInputBytesPerBatch": 40}, lambda p: None, lambda p: None)
    [{'Items': ['aaaaaaaaaa', 'bbbbbbbbbb']}, {'Items': ['c']}]
    """
    max_items = _limit(config, "MaxItemsPerBatch", state_input)
    max_bytes = min(_limit(config, "MaxInputBytesPerBatch", state_input) or MAX_INPUT_BYTES, MAX_INPUT_BYTES)
    head: dict[str, Any] = {}
    if "BatchInput" in config:
        head["BatchInput"] = _template(config["BatchInput"], state_input, context)
    result: list[Any] = []
    current: list[Any] = []
    size = _size({**head, "Items": []})
    for item in items:
        item_size = _size(item) + (1 if current else 0)  # the comma between items
        if current and ((max_items is not None and len(current) >= max_items) or size + item_size > max_bytes):
            result.append({**head, "Items": current})
            current, size = [], _size({**head, "Items": []})
            item_size = _size(item)
        if size + item_size > max_bytes:
            raise ItemTooLarge(f"an item of {item_size} bytes does not fit MaxInputBytesPerBatch={max_bytes}")
        current.append(item)
        size += item_size
    if current:
        result.append({**head, "Items": current})
    return result


def batched_map_run(original: Callable[[Any, Any, Any], None]) -> Callable[[Any, Any, Any], None]:
    """``DistributedIterationComponent._map_run`` batching its items first when its Map has an ItemBatcher."""

    def map_run(component: Any, env: Any, eval_input: Any) -> None:
        comment = getattr(component, "_comment", None)
        config = batcher_of(getattr(comment, "comment", None))
        if config is not None:
            items = env.stack.pop()
            env.stack.append(batches(list(items), config, env.states.get_input, env.states.get_context))
        original(component, env, eval_input)

    return map_run
