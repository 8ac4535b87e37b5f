"""What an in-process Lambda prints goes to its log; nothing anyone else prints is captured or lost."""

from __future__ import annotations

import io
import sys
import threading

import pytest

from workflow.local.lambda_runtime import captured_stdout


def fake_terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    # Installed in the test body: pytest's own capture replaces sys.stdout between fixture setup and the call.
    screen = io.StringIO()
    monkeypatch.setattr(sys, "stdout", screen)
    return screen


def test_only_the_invoking_threads_prints_reach_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = fake_terminal(monkeypatch)
    log = io.StringIO()
    entered, printed = threading.Event(), threading.Event()

    def handler() -> None:
        with captured_stdout(log):
            print("from the handler")
            entered.set()
            printed.wait(5)

    worker = threading.Thread(target=handler)
    worker.start()
    entered.wait(5)
    print("from the main thread")  # while the handler's capture is on
    printed.set()
    worker.join(5)

    assert log.getvalue() == "from the handler\n"
    assert terminal.getvalue() == "from the main thread\n"
    assert sys.stdout is terminal


def test_a_restore_interleaved_with_another_redirection_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = fake_terminal(monkeypatch)
    # GIVEN a handler's capture, then the main thread's own redirection (as rich's live view does), then the
    # handler finishing first and the main thread restoring what it saw: the handler's stream is back in place
    log = io.StringIO()
    capture = captured_stdout(log)
    capture.__enter__()
    seen_by_main = sys.stdout
    sys.stdout = io.StringIO()
    capture.__exit__(None, None, None)
    sys.stdout = seen_by_main

    # WHEN anyone prints afterwards THEN it reaches the terminal, not the finished handler's log
    print("the report")
    assert terminal.getvalue() == "the report\n"
    assert log.getvalue() == ""


def test_concurrent_invocations_capture_only_their_own_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = fake_terminal(monkeypatch)
    # Thread switches every microsecond: the interleavings of many invocations starting and ending at once,
    # as a Map's children do, happen within the test's few thousand captures.
    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads, rounds = 16, 150
    logs = [io.StringIO() for _ in range(threads)]
    start = threading.Barrier(threads)

    def invoke(index: int) -> None:
        start.wait(5)
        for round_ in range(rounds):
            with captured_stdout(logs[index]):
                print(f"{index}:{round_}")

    try:
        workers = [threading.Thread(target=invoke, args=(index,)) for index in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
    finally:
        sys.setswitchinterval(previous_interval)

    assert terminal.getvalue() == ""
    for index, log in enumerate(logs):
        assert log.getvalue() == "".join(f"{index}:{round_}\n" for round_ in range(rounds))
    assert sys.stdout is terminal
