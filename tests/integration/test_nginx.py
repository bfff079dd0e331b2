"""deploy/: the nginx config in front of two real instances, and the deployment manifests.

The nginx test runs Debian's nginx (package ``nginx``) on loopback with a copy of
deploy/nginx.conf whose upstream lists two ``coreport serve`` processes. They share one
scratch PostgreSQL database and one Redis (under a random key prefix), as scaled mode does.
pycrdt clients connect through nginx, edit and converge; then one instance is killed, and
its clients reconnect through nginx to the other one without losing anything.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import threading
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pycrdt import Doc, Text
from websockets.exceptions import ConnectionClosed

from coreport.metrics import Metrics
from coreport.settings import Settings
from coreport.web.app import create_app
from tests.support.postgres import scratch_database
from tests.support.redis import admin_client, delete_keys
from tests.support.server import ServerProcess
from tests.support.services import REDIS_URL, service_unavailable
from tests.support.yclient import synced_doc, wait_until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOM = "nginx-failover"

_SERVERS_BLOCK = re.compile(r"^[ \t]*# BEGIN servers.*?^[ \t]*# END servers[^\n]*\n", re.M | re.S)


# --- the processes ------------------------------------------------------------------------


def render_nginx_conf(template: str, *, port: int, upstreams: list[str], prefix: Path) -> str:
    """deploy/nginx.conf for a local run: listen on ``127.0.0.1:port``, proxy to
    ``upstreams`` (``host:port``), keep temporary files under ``prefix``."""
    servers = "".join(f"        server {u} max_fails=1 fail_timeout=5s;\n" for u in upstreams)
    conf, found = _SERVERS_BLOCK.subn(lambda _: servers, template)
    assert found == 1, "deploy/nginx.conf lost its '# BEGIN servers' ... '# END servers' block"
    assert conf.count("listen 8080;") == 1, "deploy/nginx.conf must listen on 8080 exactly once"
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return conf.replace("http {\n", "http {\n" + temp_paths, 1)


class NginxProcess:
    """nginx in the foreground as a subprocess, all its files under ``prefix``.

    ``start()`` returns once nginx has started its workers: its listening socket is bound
    by then (deploy/nginx.conf logs at ``notice``, which reports the worker start).
    """

    def __init__(self, binary: str, prefix: Path, conf: str, port: int) -> None:
        self.binary = binary
        self.prefix = prefix
        self.conf = conf
        self.port = port
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None

    @property
    def ws_base(self) -> str:
        """The base a y-websocket provider takes: ``ws://127.0.0.1:port/ws/reports``."""
        return f"ws://127.0.0.1:{self.port}/ws/reports"

    def start(self, timeout: float = 15.0) -> NginxProcess:
        self.prefix.mkdir(parents=True, exist_ok=True)
        conf_path = self.prefix / "nginx.conf"
        conf_path.write_text(self.conf)
        directives = f"daemon off; pid {self.prefix / 'nginx.pid'};"
        if os.geteuid() == 0:
            # Workers would otherwise drop to `nobody`, who cannot enter the test's tmp dir.
            directives += f" user {pwd.getpwuid(os.geteuid()).pw_name};"
        command = [self.binary, "-p", str(self.prefix), "-e", "stderr", "-c", str(conf_path)]
        checked = subprocess.run(
            [*command, "-t", "-g", directives], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, f"nginx -t rejected the config:\n{checked.stderr}"
        process = subprocess.Popen(
            [*command, "-g", directives],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._process = process
        started = threading.Event()

        def drain() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.output.append(line.rstrip("\n"))
                if "start worker process" in line:
                    started.set()
            started.set()  # nginx ended: wake the waiter

        self._drain = threading.Thread(target=drain, daemon=True, name=f"nginx-{process.pid}")
        self._drain.start()
        if not started.wait(timeout) or process.poll() is not None:
            self.stop()
            raise RuntimeError("nginx did not start:\n" + "\n".join(self.output[-40:]))
        return self

    def stop(self) -> None:
        """SIGTERM (nginx's fast shutdown), then wait."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if self._drain is not None:
            self._drain.join(10)
        if process.stdout is not None:
            process.stdout.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def nginx_binary() -> str:
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        service_unavailable("nginx", "no nginx binary (Debian: apt-get install nginx)")
        raise AssertionError("unreachable")
    return binary


@pytest.fixture
async def instances(tmp_path: Path) -> AsyncIterator[list[ServerProcess]]:
    """Two ``coreport serve`` processes on one PostgreSQL database and one Redis."""
    redis = await admin_client(REDIS_URL)
    prefix = f"coreport-test-{secrets.token_hex(6)}:"
    try:
        async with scratch_database() as database_url:
            env = {
                "COREPORT_DATABASE_URL": database_url,
                "COREPORT_REDIS_URL": REDIS_URL,
                "COREPORT_REDIS_PREFIX": prefix,
                "COREPORT_DATABASE_POOL_MAX": "4",
            }
            processes = [
                ServerProcess(
                    tmp_path / f"unused-{name}", env={**env, "COREPORT_INSTANCE_ID": name}
                )
                for name in ("a", "b")
            ]
            try:
                # Started one after the other: the second also runs the migrations, and
                # finds nothing pending.
                for process in processes:
                    await asyncio.to_thread(process.start)
                yield processes
            finally:
                for process in processes:
                    await asyncio.to_thread(process.stop)
    finally:
        await delete_keys(redis, prefix)
        await redis.aclose()


@pytest.fixture
def nginx(
    nginx_binary: str, instances: list[ServerProcess], tmp_path: Path
) -> Iterator[NginxProcess]:
    """nginx (deploy/nginx.conf) in front of ``instances``."""
    port = free_port()
    conf = render_nginx_conf(
        (DEPLOY / "nginx.conf").read_text(),
        port=port,
        upstreams=[f"127.0.0.1:{process.port}" for process in instances],
        prefix=tmp_path / "nginx",
    )
    process = NginxProcess(nginx_binary, tmp_path / "nginx", conf, port).start()
    try:
        yield process
    finally:
        process.stop()


# --- the clients --------------------------------------------------------------------------


class LiveClient:
    """A pycrdt client connected in its own task, so that losing its instance ends only
    this task; the :class:`Doc` outlives the connection and can reconnect."""

    def __init__(self, ws_base: str, doc: Doc[Any]) -> None:
        self.doc = doc
        self._ws_base = ws_base
        self._synced = asyncio.Event()
        self._leave = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with synced_doc(self._ws_base, ROOM, self.doc):
            self._synced.set()
            await self._leave.wait()

    async def synced(self) -> None:
        """Return once connected and synced; raise what ended the connection otherwise."""
        waiter = asyncio.create_task(self._synced.wait())
        await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not self._synced.is_set():
            self.task.result()
            raise AssertionError("the client ended before it synced")

    async def leave(self) -> None:
        self._leave.set()
        await self.task

    def write(self, marker: str) -> None:
        text = self.doc.get("t", type=Text)
        text += marker


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[str, Doc[Any]], LiveClient]]:
    """Makes :class:`LiveClient`s; any still connected when the test ends is cancelled."""
    made: list[LiveClient] = []

    def make(ws_base: str, doc: Doc[Any]) -> LiveClient:
        client = LiveClient(ws_base, doc)
        made.append(client)
        return client

    yield make
    running = [client.task for client in made if not client.task.done()]
    for task in running:
        task.cancel()
    # Only a failed test leaves clients running; its own error is the one that matters.
    await asyncio.gather(*running, return_exceptions=True)


def text_of(doc: Doc[Any]) -> str:
    return str(doc.get("t", type=Text))


def lost_connection(exc: BaseException | None) -> bool:
    """``exc`` is (a group of) the errors of a WebSocket whose server went away."""
    if isinstance(exc, BaseExceptionGroup):
        return all(lost_connection(inner) for inner in exc.exceptions)
    return isinstance(exc, ConnectionClosed | OSError)


def open_sockets(process: ServerProcess) -> float:
    with urllib.request.urlopen(process.url + "metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("coreport_open_sockets "):
                return float(line.split()[1])
    raise AssertionError("coreport_open_sockets is not exported")


def holds_all(doc: Doc[Any], markers: list[str]) -> Callable[[], bool]:
    return lambda: all(marker in text_of(doc) for marker in markers)


async def converged(clients: list[LiveClient], markers: list[str]) -> None:
    """Wait until every client's text holds every marker, then check they are equal."""
    for client in clients:
        await wait_until(client.doc, holds_all(client.doc, markers))
    texts = {text_of(client.doc) for client in clients}
    assert len(texts) == 1, f"clients disagree: {texts}"


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
async def test_clients_through_nginx_survive_an_instance_going_away(
    nginx: NginxProcess,
    instances: list[ServerProcess],
    connect: Callable[[str, Doc[Any]], LiveClient],
) -> None:
    first, second = instances
    docs: list[Doc[Any]] = [Doc() for _ in range(4)]
    for doc in docs:
        doc["t"] = Text()
    clients = [connect(nginx.ws_base, doc) for doc in docs]
    for client in clients:
        await client.synced()

    # Round robin spread the clients: the edits below cross instances through Redis.
    on_first = await asyncio.to_thread(open_sockets, first)
    on_second = await asyncio.to_thread(open_sockets, second)
    assert (on_first, on_second) == (2, 2)

    markers = [f"<before-{i}>" for i in range(len(clients))]
    for client, marker in zip(clients, markers, strict=True):
        client.write(marker)
    await converged(clients, markers)

    # kill -9 one instance: the connections it held end, the others stay.
    first.kill()
    dropped: list[LiveClient] = []
    async with asyncio.timeout(15):
        while len(dropped) < on_first:
            running = {client.task for client in clients if client not in dropped}
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            dropped = [client for client in clients if client.task.done()]
    assert len(dropped) == on_first
    for client in dropped:
        assert lost_connection(client.task.exception()), client.task.exception()

    # Written while disconnected: the sync handshake on reconnect must deliver these.
    offline = [f"<offline-{i}>" for i in range(len(dropped))]
    for client, marker in zip(dropped, offline, strict=True):
        client.write(marker)

    # pycrdt's Provider does not reconnect by itself: connect the same docs again, through
    # nginx, which skips the dead instance and lands them on the live one.
    reconnected = [connect(nginx.ws_base, client.doc) for client in dropped]
    for client in reconnected:
        await client.synced()
    clients = [client for client in clients if client not in dropped] + reconnected
    assert await asyncio.to_thread(open_sockets, second) == len(clients)
    # Round robin did offer the dead instance; nginx retried on the live one.
    dead = f"127.0.0.1:{first.port}"
    assert any("Connection refused" in line and dead in line for line in nginx.output)

    after = [f"<after-{i}>" for i in range(len(clients))]
    for client, marker in zip(clients, after, strict=True):
        client.write(marker)
    everything = markers + offline + after
    await converged(clients, everything)

    # A newcomer reads the whole document from the store, through nginx.
    async with synced_doc(nginx.ws_base, ROOM) as fresh:
        await wait_until(fresh, holds_all(fresh, everything))
        for marker in everything:
            assert text_of(fresh).count(marker) == 1, f"{marker} duplicated"
    for client in clients:
        await client.leave()


def test_rendered_nginx_conf_keeps_the_deployed_settings(tmp_path: Path) -> None:
    template = (DEPLOY / "nginx.conf").read_text()
    conf = render_nginx_conf(
        template, port=18080, upstreams=["127.0.0.1:1", "127.0.0.1:2"], prefix=tmp_path
    )
    assert "server 127.0.0.1:1 max_fails=1 fail_timeout=5s;" in conf
    assert "resolve" not in conf.split("upstream coreport {")[1].split("}")[0]
    assert "listen 127.0.0.1:18080;" in conf
    for setting in (
        "proxy_read_timeout 1h;",
        "proxy_send_timeout 1h;",
        "proxy_buffering off;",
        "client_max_body_size 16m;",
        "proxy_next_upstream error timeout;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    ):
        assert setting in template, setting
        assert setting in conf, setting
    assert Settings.model_fields["max_message_bytes"].default == 16 * 1024 * 1024


# --- the manifests ------------------------------------------------------------------------


def load_all(path: Path) -> list[dict[str, Any]]:
    with path.open() as file:
        return [doc for doc in yaml.safe_load_all(file) if doc is not None]


def test_kubernetes_manifests_parse_and_agree(tmp_path: Path) -> None:
    k8s = DEPLOY / "k8s"
    (kustomization,) = load_all(k8s / "kustomization.yaml")
    listed = kustomization["resources"]
    on_disk = {p.name for p in k8s.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == on_disk, "every manifest is listed in kustomization.yaml"
    by_kind = {doc["kind"]: doc for name in listed for doc in load_all(k8s / name)}
    assert set(by_kind) == {
        "ConfigMap",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
    assert all("namespace" not in doc["metadata"] for doc in by_kind.values())

    deployment = by_kind["Deployment"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["replicas"] == 3
    (container,) = pod["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert 20 <= pod["spec"]["terminationGracePeriodSeconds"] <= 60
    app = create_app(Settings(data_dir=tmp_path))
    routes = {getattr(route, "path", None) for route in app.routes}
    assert {"/healthz", "/readyz", "/metrics"} <= routes

    service = by_kind["Service"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert "sessionAffinity" not in service["spec"]
    backend = by_kind["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    annotations = by_kind["Ingress"]["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert int(annotations[prefix + "proxy-read-timeout"]) >= 3600
    assert int(annotations[prefix + "proxy-send-timeout"]) >= 3600
    assert annotations[prefix + "proxy-body-size"] == "16m"

    target = by_kind["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    pdb = by_kind["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    (job_container,) = by_kind["Job"]["spec"]["template"]["spec"]["containers"]
    assert job_container["args"] == ["coreport", "migrate"]
    secret = by_kind["Secret"]["stringData"]
    assert set(secret) == {"COREPORT_DATABASE_URL", "COREPORT_REDIS_URL"}
    assert all("CHANGE-ME" in value for value in secret.values())
    settings = set(Settings.model_fields)
    for name in by_kind["ConfigMap"]["data"]:
        if name.startswith("COREPORT_"):
            assert name.removeprefix("COREPORT_").lower() in settings, name


def test_compose_file_parses_and_agrees() -> None:
    (compose,) = load_all(DEPLOY / "compose.yaml")
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "coreport", "nginx"}
    assert services["postgres"]["image"].startswith("postgres:16")
    redis_command = services["redis"]["command"]
    assert redis_command[redis_command.index("--maxmemory-policy") + 1] == "noeviction"
    assert services["migrate"]["command"] == ["coreport", "migrate"]
    coreport = services["coreport"]
    assert coreport["deploy"]["replicas"] >= 2
    assert coreport["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"COREPORT_DATABASE_URL", "COREPORT_REDIS_URL"} <= set(coreport["environment"])
    nginx = services["nginx"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["ports"] == ["8080:8080"]
    assert nginx["depends_on"]["coreport"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "nginx"):
        assert "healthcheck" in services[name], name
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, re.M)
    assert 'CMD ["coreport", "serve", "--host", "0.0.0.0"]' in dockerfile
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert "EXPOSE 8000" in dockerfile


def test_operations_doc_explains_every_metric() -> None:
    doc = (DEPLOY.parent / "docs" / "operations.md").read_text()
    names = {family.name for family in Metrics().registry.collect()}
    assert names
    missing = sorted(name for name in names if f"| `{name}" not in doc)
    assert not missing, f"docs/operations.md does not explain {missing}"
