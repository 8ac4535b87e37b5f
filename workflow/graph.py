"""The state machine as a picture: ASL -> a graphviz graph, rendered to SVG or PNG by graphviz's ``dot``.

Every state is a node shaped by its type; a Map's item processor (and each Parallel branch) is a cluster
drawn inside a box named after the state; ``Next`` edges are solid, Choice rules carry their condition,
``Catch`` edges are dashed red and labelled with the errors they catch, and each ``Retry`` is a self-loop
labelled with the errors and the attempt budget. Lambda tasks show the catalogued function they call.

Example::

    >>> asl = {"StartAt": "A", "States": {
    ...     "A": {"Type": "Task", "Resource": "${ResolveTargetsFunctionArn}", "Next": "B",
    ...           "Retry": [{"ErrorEquals": ["Throttled"], "MaxAttempts": 3}]},
    ...     "B": {"Type": "Succeed"}}}
    >>> source = to_dot(asl)
    >>> "A -> B" in source and "retry Throttled" in source
    True
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from workflow.console.errors import CliError

if TYPE_CHECKING:
    import graphviz

FORMATS = ("svg", "png", "json", "dot")

_START = "__start__"
_END = "__end__"

#: Node look per state type (graphviz attributes).
_SHAPES: dict[str, dict[str, str]] = {
    "Task": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f0fe"},
    "Choice": {"shape": "diamond", "style": "filled", "fillcolor": "#fff4d6"},
    "Pass": {"shape": "box", "style": "dashed"},
    "Wait": {"shape": "box", "style": "rounded,dashed"},
    "Succeed": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d7f5dd"},
    "Fail": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fbdada"},
    "Map": {"shape": "box", "style": "rounded,bold,filled", "fillcolor": "#efe6fb"},
    "Parallel": {"shape": "box", "style": "rounded,bold,filled", "fillcolor": "#efe6fb"},
}

_PLACEHOLDER = re.compile(r"\$\{(\w+?)FunctionArn\}")


def _function_name(state: dict[str, Any]) -> str | None:
    """The catalogued Lambda a Task calls (``${ReconcileSyncFunctionArn}`` -> ``ReconcileSync``), if any."""
    candidates = [state.get("Resource", "")]
    params = state.get("Parameters") or state.get("Arguments") or {}
    if isinstance(params, dict):
        candidates += [str(params.get("FunctionName", "")), str(params.get("FunctionName.$", ""))]
    for candidate in candidates:
        match = _PLACEHOLDER.search(str(candidate))
        if match:
            return match.group(1)
        if ":function:" in str(candidate):
            return str(candidate).rsplit(":function:", 1)[1].split(":")[0]
    return None


def _label(name: str, state: dict[str, Any]) -> str:
    kind = state.get("Type", "?")
    lines = [name]
    if kind == "Task":
        function = _function_name(state)
        resource = str(state.get("Resource", ""))
        if function:
            lines.append(f"Lambda {function}")
        elif resource.startswith("arn:aws:states:::"):
            lines.append(resource.removeprefix("arn:aws:states:::"))
    elif kind == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        mode = (processor.get("ProcessorConfig") or {}).get("Mode", "INLINE")
        detail = "Distributed Map" if mode == "DISTRIBUTED" else "Map"
        if "MaxConcurrency" in state:
            detail += f", {state['MaxConcurrency']} at once"
        lines.append(detail)
        if "ItemReader" in state:
            lines.append("items from " + str(state["ItemReader"].get("Resource", "")).removeprefix("arn:aws:states:::"))
        tolerated = state.get("ToleratedFailurePercentage", state.get("ToleratedFailureCount"))
        if tolerated is not None:
            suffix = "%" if "ToleratedFailurePercentage" in state else ""
            lines.append(f"tolerates {tolerated}{suffix} failed items")
    elif kind == "Fail":
        if "Error" in state:
            lines.append(f"error {state['Error']}")
    elif kind == "Wait":
        for key in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath"):
            if key in state:
                lines.append(f"{key} {state[key]}")
    elif kind not in {"Pass", "Choice"}:
        lines.append(kind)
    return "\n".join(lines)


def _choice_label(rule: dict[str, Any]) -> str:
    """A short text for a Choice rule: ``$.summary.needsAttention == 0``."""
    operators = {
        "NumericEquals": "==",
        "StringEquals": "==",
        "BooleanEquals": "==",
        "NumericGreaterThan": ">",
        "NumericLessThan": "<",
        "NumericGreaterThanEquals": ">=",
        "NumericLessThanEquals": "<=",
        "StringMatches": "matches",
        "IsPresent": "present:",
    }
    for key in ("And", "Or"):
        if key in rule:
            return f" {key.lower()} ".join(_choice_label(sub) for sub in rule[key])
    if "Not" in rule:
        return f"not ({_choice_label(rule['Not'])})"
    if "Condition" in rule:
        return str(rule["Condition"])
    variable = rule.get("Variable", "")
    for key, value in rule.items():
        if key in {"Variable", "Next", "Comment"}:
            continue
        op = operators.get(key.removesuffix("Path"), key)
        return f"{variable} {op} {json.dumps(value) if not isinstance(value, str) else value}"
    return str(rule.get("Comment", "rule"))


def _retry_label(retriers: list[dict[str, Any]]) -> str:
    parts = []
    for retrier in retriers:
        # Lines of a few error names each: the transient-error list would otherwise run across the picture.
        lines: list[str] = []
        for error in retrier.get("ErrorEquals", []):
            if lines and len(lines[-1]) + len(error) < 36:
                lines[-1] += f", {error}"
            else:
                lines.append(error)
        attempts = retrier.get("MaxAttempts", 3)
        backoff = retrier.get("BackoffRate", 2.0)
        interval = retrier.get("IntervalSeconds", 1)
        text = "\\l  ".join(lines)
        parts.append(f"retry {text}\\l  up to {attempts} times, {interval}s x{backoff}\\l")
    return "".join(parts)


class _Builder:
    def __init__(self, graph: graphviz.Digraph) -> None:
        self.graph = graph
        self.count = 0

    def states(self, graph: graphviz.Digraph, machine: dict[str, Any], scope: str) -> tuple[str, list[str]]:
        """Add ``machine``'s states to ``graph``; returns its start node and the nodes that end it."""
        ends: list[str] = []
        states: dict[str, Any] = machine.get("States", {})

        def node(name: str) -> str:
            return f"{scope}{name}"

        for name, state in states.items():
            kind = state.get("Type", "Task")
            attrs = dict(_SHAPES.get(kind, {"shape": "box"}))
            graph.node(node(name), _label(name, state), **attrs)
            if kind in {"Map", "Parallel"}:
                self.nested(graph, node(name), name, state)
            if "Next" in state:
                graph.edge(node(name), node(state["Next"]))
            if state.get("End") or kind in {"Succeed", "Fail"}:
                ends.append(node(name))
            for rule in state.get("Choices", []):
                graph.edge(node(name), node(rule["Next"]), label=_choice_label(rule), fontsize="10")
            if "Default" in state:
                graph.edge(node(name), node(state["Default"]), label="otherwise", fontsize="10")
            if state.get("Retry"):
                graph.edge(
                    node(name),
                    node(name),
                    label=_retry_label(state["Retry"]),
                    style="dotted",
                    color="#1a73e8",
                    fontcolor="#1a73e8",
                    fontsize="9",
                )
            for catcher in state.get("Catch", []):
                graph.edge(
                    node(name),
                    node(catcher["Next"]),
                    label="catch " + ", ".join(catcher.get("ErrorEquals", [])),
                    style="dashed",
                    color="#d93025",
                    fontcolor="#d93025",
                    fontsize="9",
                )
        return node(machine["StartAt"]), ends

    def nested(self, graph: graphviz.Digraph, owner: str, name: str, state: dict[str, Any]) -> None:
        """Draw a Map's item processor (or each Parallel branch) as a cluster hanging off ``owner``."""
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            batcher = state.get("ItemBatcher") or {}
            per = (
                f"for each batch of up to {batcher['MaxItemsPerBatch']} items"
                if "MaxItemsPerBatch" in batcher
                else "for each batch of items" if batcher else "for each item"
            )
            bodies = [(per, processor)] if processor else []
        else:
            bodies = [(f"branch {i + 1}", branch) for i, branch in enumerate(state.get("Branches", []))]
        for title, body in bodies:
            self.count += 1
            cluster_scope = f"{owner}/{self.count}/"
            with graph.subgraph(name=f"cluster_{self.count}") as cluster:
                cluster.attr(label=f"{name}: {title}", style="rounded,dashed", color="#7e57c2", fontsize="11")
                start, _ = self.states(cluster, body, cluster_scope)
            graph.edge(owner, start, style="bold", color="#7e57c2", label=title, fontsize="9")


#: The one line a user without the graph extra gets, whatever the format that needed it.
MISSING_EXTRA = "the graph extra is not installed (the graphviz Python package): pip install 'orgsync[graph]'"


def _graphviz() -> Any:
    """The graphviz package, or the install hint as a :class:`CliError` (the graph extra is optional)."""
    try:
        import graphviz
    except ImportError as exc:
        raise CliError(MISSING_EXTRA) from exc
    return graphviz


def build_graph(definition: dict[str, Any], *, title: str = "orgsync") -> graphviz.Digraph:
    """The graphviz graph of an ASL ``definition``."""
    graphviz = _graphviz()
    graph = graphviz.Digraph(
        name=title,
        graph_attr={
            "rankdir": "TB",
            "fontname": "Helvetica",
            "label": title,
            "labelloc": "t",
            "compound": "true",
            "nodesep": "0.4",
        },
    )
    graph.attr("node", fontname="Helvetica", fontsize="11")
    graph.attr("edge", fontname="Helvetica")
    graph.node(
        _START,
        "start",
        shape="circle",
        style="filled",
        fillcolor="black",
        fontcolor="white",
        width="0.3",
        fixedsize="false",
        fontsize="9",
    )
    graph.node(_END, "end", shape="doublecircle", fontsize="9")
    builder = _Builder(graph)
    start, ends = builder.states(graph, definition, "")
    graph.edge(_START, start)
    for end in ends:
        graph.edge(end, _END)
    return graph


def to_dot(definition: dict[str, Any]) -> str:
    """The graph in graphviz's DOT language (the graph extra, but no ``dot`` binary, needed)."""
    return str(build_graph(definition).source)


def render(definition: dict[str, Any], fmt: str) -> bytes:
    """``definition`` as ``fmt``: ``svg`` or ``png`` (needs graphviz's ``dot``), ``json`` (the ASL) or ``dot``."""
    if fmt == "json":
        return (json.dumps(definition, indent=2) + "\n").encode()
    if fmt == "dot":
        return to_dot(definition).encode()
    if fmt not in FORMATS:
        raise CliError(f"unknown graph format {fmt!r}: use one of {', '.join(FORMATS)}")
    graphviz = _graphviz()
    graph = build_graph(definition)
    try:
        data: bytes = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise CliError(
            f"rendering {fmt} needs graphviz's 'dot' program: install graphviz (apt-get install graphviz, "
            "brew install graphviz), or use --format json or dot"
        ) from exc
    return data
