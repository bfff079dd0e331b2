"""A real ``coreport serve`` process on a free port, for integration, interop and bench.

The process prints ``coreport listening on URL`` once its store is open; ``start()``
returns when that line arrives. A restart reuses the same port so clients reconnect to
the same URL.

Servers run without authentication (``COREPORT_INSECURE_NO_AUTH=1``) unless started with
``auth=True``: most tests are about sync, not access, and connect without credentials.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

_READY = re.compile(r"coreport listening on (http://[^\s]+)")


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        env: dict[str, str] | None = None,
        port: int = 0,
        startup_timeout: float = 30.0,
        auth: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.env = {**({} if auth else {"COREPORT_INSECURE_NO_AUTH": "1"}), **(env or {})}
        self.port = port
        self.startup_timeout = startup_timeout
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None
        self.url = ""

    @property
    def ws_base(self) -> str:
        """The base a y-websocket provider takes: ``ws://host:port/ws/reports``."""
        return self.url.replace("http://", "ws://").rstrip("/") + "/ws/reports"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> ServerProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        command = [sys.executable, "-m", "coreport", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--data-dir", str(self.data_dir)]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self._process = process
        ready = threading.Event()

        def drain() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.output.append(line.rstrip("\n"))
                match = _READY.search(line)
                if match and not ready.is_set():
                    self.url = match.group(1)
                    ready.set()
            ready.set()  # the process ended: wake the waiter

        self._drain = threading.Thread(target=drain, daemon=True, name=f"coreport-{process.pid}")
        self._drain.start()
        if not ready.wait(self.startup_timeout) or not self.url or process.poll() is not None:
            self.kill()
            raise RuntimeError("coreport serve did not start:\n" + "\n".join(self.output[-40:]))
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))
        return self

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: a graceful shutdown."""
        return self._end(signal.SIGTERM, timeout)

    def kill(self) -> int:
        """SIGKILL: the process gets no chance to flush anything."""
        return self._end(signal.SIGKILL, 10.0)

    def _end(self, sig: signal.Signals, timeout: float) -> int:
        process, self._process = self._process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(sig)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(10)
        if self._drain is not None:
            self._drain.join(10)
        if process.stdout is not None:
            process.stdout.close()
        return code

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
