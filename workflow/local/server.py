"""``LocalServer``: the simulated AWS of a scenario, with orgsync deployed, on one HTTP endpoint on loopback.

What ``orgsync local serve`` runs. Starting a :class:`LocalServer`:

1. binds ``127.0.0.1:port`` first (port 0: any free port), so a port in use fails (:class:`PortInUse`) before
   anything else starts;
2. enters a :class:`~workflow.local.runner.LocalRun` of the scenario: moto in-process with the organization, the
   bucket and the SSM emulation, the local engine, the task Lambdas and the state machine deployed in the
   aggregator account and region (handlers in-process);
3. serves :class:`~workflow.local.endpoint.EndpointApp` on that socket from one thread (a thread per request).

The engine's ``MOTO_PORT`` is the server's port for as long as it runs (moto's interpreter would call Lambda and
aws-sdk services at ``localhost:$MOTO_PORT`` if it ever ran without the in-process mock).

Time is simulated by default (the engine's :class:`~workflow.local.clock.VirtualClock`: Retry waits, Wait
states, Lambda backoffs and SSM's marker delay cost no wall time; time moves only when something waits).
``real_time=True`` uses a :class:`~workflow.local.realtime.RealTimeClock`: those waits take their real length,
and the marker appears ``markerDelaySeconds`` of wall time after the sync was created.

:meth:`LocalServer.stop` shuts the HTTP server, joins its thread, stops running executions and the engine,
and resets moto: nothing keeps running.

A lasting state directory (``orgsync local serve --state DIR``) plugs in as the ``run_factory``
(:class:`workflow.console.state.LastingRun`: the world restored when entered, saved when left cleanly) with
``clock_start`` at the state's simulated time.

Example::

    >>> from workflow.local.scenario import example_scenario_path, load_scenario
    >>> with LocalServer(load_scenario(example_scenario_path()), port=0) as server:
    ...     server.endpoint_url.startswith("http://127.0.0.1:"), ":stateMachine:orgsync" in server.state_machine_arn
    (True, True)
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from workflow.local.clock import VirtualClock
from workflow.local.endpoint import EndpointApp
from workflow.local.engine import BACKEND_LOCK
from workflow.local.realtime import RealTimeClock
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario

#: Loopback only: the simulated AWS accepts any credentials, so nothing off this machine may reach it.
HOST = "127.0.0.1"
DEFAULT_PORT = 4566

RunFactory = Callable[[Scenario, VirtualClock], LocalRun]


class ServerError(Exception):
    """The local endpoint cannot start (the message says why, in one line)."""


class PortInUse(ServerError):
    """The port is taken by another process."""


class LocalServer:
    """A scenario's simulated AWS with orgsync deployed, answering HTTP on ``127.0.0.1:port``.

    Attributes once started: ``endpoint_url``, ``port``, ``state_machine_arn``, ``run`` (the
    :class:`~workflow.local.runner.LocalRun`: its ``aws`` and ``engine`` for tests).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        port: int = DEFAULT_PORT,
        real_time: bool = False,
        run_factory: RunFactory = LocalRun,
        clock_start: datetime | None = None,
    ) -> None:
        self.scenario = scenario
        self.requested_port = port
        self.real_time = real_time
        self.clock: VirtualClock = (
            RealTimeClock(BACKEND_LOCK, start=clock_start) if real_time else VirtualClock(start=clock_start)
        )
        self._run_factory = run_factory
        self.run: LocalRun | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._saved_moto_port: str | None = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``: the ``--endpoint-url`` of every client."""
        return f"http://{HOST}:{self.port}"

    @property
    def state_machine_arn(self) -> str:
        """The ARN of orgsync's state machine in the aggregator account."""
        if self.run is None:
            raise RuntimeError("the server is not started")
        return self.run.state_machine_arn

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Bind, deploy, serve; raises :class:`PortInUse` (nothing started) when the port is taken."""
        # werkzeug logs every request on stderr: the server's output is its two lines and its errors.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        listening = _listen(self.requested_port)
        try:
            # werkzeug takes a socket already listening: bound by it, a port in use would print its own text and
            # exit the process.
            self._server = make_server(HOST, self.requested_port, _not_ready, threaded=True, fd=listening.fileno())
        finally:
            listening.close()  # the server holds its own duplicate
        self.port = int(self._server.server_address[1])
        self._saved_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.port)
        try:
            self.run = self._run_factory(self.scenario, self.clock)
            self.run.__enter__()
            default_key = self.run.aws.credentials(self.scenario.aggregator.account_id)["aws_access_key_id"]
            self._server.app = EndpointApp(default_key, self.scenario.aggregator.region)
            if isinstance(self.clock, RealTimeClock):
                self.clock.start_ticking()
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="orgsync-local-serve"
            )
            self._thread.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop serving and take everything down (safe to call twice)."""
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
                self._thread.join(timeout=10)
                self._thread = None
            server.server_close()
        if isinstance(self.clock, RealTimeClock):
            self.clock.stop_ticking()
        run, self.run = self.run, None
        if run is not None:
            run.__exit__(None, None, None)
        if self._saved_moto_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = self._saved_moto_port
        self._saved_moto_port = None


def _listen(port: int) -> socket.socket:
    """A TCP socket listening on ``127.0.0.1:port``; :class:`PortInUse` or :class:`ServerError` if it cannot."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server: TIME_WAIT is no conflict
        listening.bind((HOST, port))
        listening.listen(128)
    except OSError as exc:
        listening.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {HOST} is already in use (give another --port)") from exc
        raise ServerError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from exc
    return listening


def _not_ready(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """What the socket answers before the simulated AWS is deployed (it is not served then: a placeholder app)."""
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"orgsync local serve is starting\n"]
