"""Guards the moto internals the local engine hooks: a moto upgrade that moves one fails here, naming it."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import moto
import pytest
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from workflow.local import seams
from workflow.local.aws import LocalAws
from workflow.local.engine import LocalEngine
from workflow.local.scenario import example_scenario_path, load_scenario

ROOT = Path(__file__).parents[3]
PYPROJECT = ROOT / "pyproject.toml"


def moto_imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` of every moto import in ``path`` (``name`` is "" for ``import moto.x``)."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "moto":
            found.extend((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, "") for alias in node.names if alias.name.split(".")[0] == "moto")
    return found


def test_only_the_seam_module_imports_moto() -> None:
    # GIVEN every Python module of the shipped packages
    importers = {
        str(path.relative_to(ROOT)): moto_imports(path)
        for package in ("workflow", "lambdas", "infra")
        for path in (ROOT / package).rglob("*.py")
    }
    # THEN none but workflow/local/seams.py imports moto, privately or not
    others = {path: names for path, names in importers.items() if names and path != "workflow/local/seams.py"}
    assert others == {}, f"moto imported outside workflow/local/seams.py (import it from there): {others}"


def test_every_moto_name_the_seam_module_imports_is_declared_and_checked() -> None:
    imported = {(module, name) for module, name in moto_imports(ROOT / "workflow/local/seams.py") if name}
    declared = {(seam.module, seam.attribute) for seam in seams.SEAMS}
    assert imported - declared == set(), "declare each import in seams.IMPORTED_SEAMS, with why it is used"


def test_moto_is_pinned_to_the_version_the_seams_were_read_from() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["local"]
    pins = [d for d in dependencies if re.match(r"moto\b", d)]
    assert pins == [f"moto[server]=={seams.MOTO_VERSION}"], (
        f"pyproject.toml must pin moto exactly to {seams.MOTO_VERSION}: the local engine hooks private moto API"
    )
    assert moto.__version__ == seams.MOTO_VERSION, (
        f"moto {moto.__version__} installed; the local engine's seams were read from {seams.MOTO_VERSION}: "
        "re-check every seam in workflow/local/seams.py"
    )


@pytest.mark.parametrize("seam", seams.SEAMS, ids=lambda seam: seam.name)
def test_seam_is_where_the_engine_hooks_it(seam: seams.Seam) -> None:
    try:
        seam.check()
    except seams.SeamMoved as moved:
        pytest.fail(f"{moved}\nwhy the engine hooks it: {seam.why}")


def test_every_module_that_imports_boto_client_for_is_hooked() -> None:
    # GIVEN every module of moto's interpreter that imports the client factory by name (read from the sources)
    import moto.stepfunctions.parser as parser

    root = Path(parser.__file__).parent
    importers = {
        "moto.stepfunctions.parser." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if "import boto_client_for" in path.read_text()
    }
    # THEN the engine replaces every copy the interpreter can reach for Lambda, S3 and SDK calls
    missing = sorted(importers - set(seams.BOTO_CLIENT_IMPORTERS))
    allowed_unhooked = {
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue",
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
    }
    assert set(missing) <= allowed_unhooked, f"modules importing boto_client_for the engine does not hook: {missing}"


def test_a_moved_seam_is_named_in_the_error() -> None:
    moved = seams.Seam("moto.awslambda.models", "LambdaFunction._run_in_docker", "method", "example", ("self",))
    with pytest.raises(seams.SeamMoved, match=re.escape("moto.awslambda.models:LambdaFunction._run_in_docker")):
        moved.check()


def test_a_changed_signature_is_named_in_the_error() -> None:
    changed = seams.Seam("moto.awslambda.models", "LambdaFunction._invoke_lambda", "method", "example", ("self",))
    with pytest.raises(seams.SeamMoved, match=r"_invoke_lambda: signature changed"):
        changed.check()


def test_the_engine_refuses_to_start_when_a_seam_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a moto whose retrier no longer sleeps through its module's `time`
    monkeypatch.delattr(retrier_decl, "time")
    # WHEN an engine starts, THEN it fails at once naming the seam, and stays startable afterwards
    with pytest.raises(seams.SeamMoved, match=re.escape(f"{seams.RETRY_TIME.module}:time")), LocalEngine():
        pass
    monkeypatch.undo()
    seams.check_all()


def test_local_aws_refuses_to_start_when_a_seam_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a moto whose IAM backend no longer has the method roles are seeded with
    from moto.iam.models import IAMBackend

    monkeypatch.delattr(IAMBackend, "create_role")
    # WHEN a LocalAws starts, THEN it fails at once naming the seam, before moto is started
    with pytest.raises(seams.SeamMoved, match=re.escape("moto.iam.models:IAMBackend.create_role")):
        LocalAws(load_scenario(example_scenario_path())).__enter__()
    monkeypatch.undo()
    seams.check_all()
