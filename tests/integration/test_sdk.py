"""The Python SDK and its CLI commands against a live ``coreport serve`` process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coreport.cli import main
from coreport.client import (
    Client,
    Invalid,
    NotFound,
    ServerUnreachable,
    Unauthorized,
    UploadIncomplete,
)
from coreport.client import blocks as b
from coreport.client.demo import run_demo
from coreport.reports.blocks import PanelGridBlock
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("sdk")) as process:
        yield process


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url) as sdk:
        yield sdk


class LoseFirstAnswer(httpx.BaseTransport):
    """Delivers every request, but loses the answer to the first history batch (the
    client sees a timeout and sends the batch again)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/history") and not self.lost.is_set():
            response.read()
            response.close()
            self.lost.set()
            raise httpx.ReadTimeout("answer lost on the way back", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_thousand_points_arrive_exactly_once(server: ServerProcess) -> None:
    with LoseFirstAnswer() as transport, Client(server.url, transport=transport) as sdk:
        run = sdk.init_run(
            "sdk", "thousand", config={"lr": 0.01}, batch_rows=250, backoff=lambda n: 0.05
        )
        for step in range(1000):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 1000})
        run.finish()
        assert transport.lost.is_set()
        assert run.stats.retries >= 1
        history = sdk.history(run.id, ["loss", "acc"], max_points=5000)
        for key in ("loss", "acc"):
            series = history.series[key]
            assert series.total_points == 1000
            assert series.steps == list(range(1000))
        assert history.series["loss"].values[999] == pytest.approx(1 / 1000)
        assert sdk.metric_keys(run.id) == ["acc", "loss"]
        stored = sdk.get_run(run.id)
        assert stored.state == "finished"
        assert stored.summary == {"loss": pytest.approx(0.001), "acc": pytest.approx(0.999)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_an_unreachable_server_fails_fast_and_clearly() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    began = time.monotonic()
    with Client(url, timeout=2) as sdk, pytest.raises(ServerUnreachable) as caught:
        sdk.init_run("sdk")
    assert time.monotonic() - began < 5
    assert url in str(caught.value)


def test_log_never_blocks_when_the_server_goes_away(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path).start()
    try:
        sdk = Client(process.url, timeout=2)
        run = sdk.init_run("sdk", "orphan", backoff=lambda n: 0.05)
        run.log({"loss": 1.0})
        assert run.flush(timeout=10)
    finally:
        process.stop()
    began = time.monotonic()
    for step in range(1, 10_001):
        run.log({"loss": 1.0 / step})
    assert time.monotonic() - began < 5
    with pytest.raises(UploadIncomplete) as caught:
        run.finish(timeout=0.5)
    assert caught.value.undelivered > 0
    assert isinstance(caught.value.__cause__, ServerUnreachable)
    sdk.close()


def test_the_ten_line_ci_example(client: Client) -> None:
    # What a CI job writes (docs/sdk.md shows the same script).
    with client.init_run("sdk-ci", "nightly", config={"lr": 0.1}, tags=["nightly"]) as run:
        for step in range(100):
            run.log({"loss": 2.0 * 0.97**step, "accuracy": 1 - 0.9 * 0.97**step})
    ref = client.reports.create(
        "Nightly training",
        "sdk-ci",
        [
            b.h1("Nightly training"),
            b.p("Run ", b.bold(run.name), " finished with loss ", f"{run.summary['loss']:.3f}."),
            b.panel_grid(
                [b.line("loss"), b.line("accuracy"), b.run_table("loss", "accuracy")],
                [b.runset(filters={"tag": "nightly"})],
            ),
        ],
    )
    assert ref.url.endswith(f"/r/{ref.id}")
    report = client.reports.get(ref.id)
    assert report.title == "Nightly training"
    assert report.project == "sdk-ci"
    grid = report.blocks[2]
    assert isinstance(grid, PanelGridBlock)
    assert [panel.metrics for panel in grid.panels] == [
        ["loss"],
        ["accuracy"],
        ["loss", "accuracy"],
    ]
    assert grid.runsets[0].project == "sdk-ci"
    markdown = client.reports.markdown(ref.id)
    assert "# Nightly training" in markdown
    assert "project sdk-ci; where tag=nightly" in markdown
    assert "| nightly | finished |" in markdown  # the panels' data, from the logged run
    assert "<html" in client.reports.html(ref.id).lower()


def test_report_calls(client: Client) -> None:
    ref = client.reports.create("Calls", "sdk-calls", [b.h1("Calls")])
    written = client.reports.append(ref.id, [b.p("first")], index=1)
    assert len(written) == 1
    client.reports.append(ref.id, [b.p("zeroth")], index=1)
    report = client.reports.get(ref.id)
    assert [type(block).__name__ for block in report.blocks] == [
        "HeadingBlock",
        "ParagraphBlock",
        "ParagraphBlock",
    ]
    page = client.reports.list(project="sdk-calls", q="Calls")
    assert [info.id for info in page.reports] == [ref.id]
    version = client.reports.save_version(ref.id, "v1")
    assert version.name == "v1"
    assert version.id in [v.id for v in client.reports.versions(ref.id)]
    assert "zeroth" in client.reports.version(ref.id, version.id).markdown
    copy = client.reports.clone(ref.id)
    assert client.reports.get(copy.id).blocks == report.blocks
    client.reports.delete(copy.id)
    with pytest.raises(NotFound):
        client.reports.get(copy.id)


def test_invalid_blocks_name_their_location(client: Client) -> None:
    with pytest.raises(Invalid) as caught:
        client.reports.create("Bad", "sdk", [{"type": "heading", "level": 7}])
    assert caught.value.status == 422
    assert any(problem["loc"][:3] == ["body", "blocks", 0] for problem in caught.value.detail)


def test_cli_report_create_and_export(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "report.yaml"
    source.write_text(
        textwrap.dedent(
            """\
            title: From YAML
            project: sdk-cli
            blocks:
              - {type: heading, level: 1, text: From YAML}
              - type: panel_grid
                panels: [{type: line, metrics: [loss]}]
            """
        )
    )
    assert main(["report", "create", str(source), "--url", server.url]) == 0
    report_id, url = capsys.readouterr().out.split()
    assert url.endswith(f"/r/{report_id}")
    assert main(["report", "export", report_id, "--url", server.url, "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["title"] == "From YAML"
    assert [block["type"] for block in exported["blocks"]] == ["heading", "panel_grid"]
    assert main(["report", "export", report_id, "--url", server.url]) == 0
    assert capsys.readouterr().out.startswith("# From YAML")
    out = tmp_path / "report.html"
    args = ["report", "export", report_id, "--url", server.url, "--format", "html", "-o", str(out)]
    assert main(args) == 0
    assert "From YAML" in out.read_text()
    assert main(["report", "export", "nope", "--url", server.url]) == 1
    assert "unknown report" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "Bad", "blocks": [{"type": "heading", "level": 9}]}')
    assert main(["report", "create", str(bad), "--url", server.url]) == 1
    err = capsys.readouterr().err
    assert "coreport report create: invalid request (422 from" in err
    assert "body.blocks.0.heading.level:" in err


def test_demo_creates_logging_runs_and_a_report(client: Client) -> None:
    lines: list[str] = []
    ref = run_demo(
        client, project="sdk-demo", runs=2, interval=0.02, duration=0.5, say=lines.append
    )
    assert lines[0] == f"report: {ref.url}"
    report = client.reports.get(ref.id)
    grid = next(block for block in report.blocks if isinstance(block, PanelGridBlock))
    assert {panel.type for panel in grid.panels} == {"line", "bar", "run_table"}
    (tag_filter,) = grid.runsets[0].filters
    runs = client.list_runs("sdk-demo", tag_filter)
    assert runs.total == 2
    assert {run.state for run in runs.runs} == {"finished"}
    assert len({run.config["optimizer"] for run in runs.runs}) == 2
    for run in runs.runs:
        series = client.history(run.id, ["loss", "accuracy", "lr"]).series
        assert set(series) == {"loss", "accuracy", "lr"}
        assert series["loss"].total_points >= 1


SCRIPT = """
import sys
from coreport.client import Client
run = Client(sys.argv[1]).init_run("sdk-exit", run_id=sys.argv[2])
for step in range(100):
    run.log({"loss": float(step)})
if sys.argv[3] == "raise":
    raise RuntimeError("training blew up")
"""


@pytest.mark.parametrize(("ending", "state"), [("return", "finished"), ("raise", "crashed")])
def test_a_run_left_open_is_flushed_and_finished_at_exit(
    client: Client, ending: str, state: str
) -> None:
    run_id = f"exit-{ending}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, client.url, run_id, ending],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == (0 if ending == "return" else 1), done.stderr
    assert client.get_run(run_id).state == state
    assert client.history(run_id, ["loss"]).series["loss"].total_points == 100


def test_api_keys_on_a_server_with_authentication(tmp_path: Path) -> None:
    added = subprocess.run(
        [sys.executable, "-m", "coreport", "users", "add", "ci", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = added.stdout.strip().splitlines()[-1]
    with ServerProcess(tmp_path, auth=True) as process:
        with Client(process.url) as anonymous, pytest.raises(Unauthorized):
            anonymous.init_run("sdk-auth")
        with Client(process.url, "cpk_not_a_key") as wrong, pytest.raises(Unauthorized):
            wrong.reports.list()
        with Client(process.url, key) as sdk:
            with sdk.init_run("sdk-auth") as run:
                run.log({"loss": 1.0})
            ref = sdk.reports.create("Keyed", "sdk-auth", [b.h1("Keyed")])
            assert sdk.reports.get(ref.id).title == "Keyed"


def test_a_run_outlives_the_client_that_created_it(server: ServerProcess) -> None:
    with Client(server.url) as sdk:
        run = sdk.init_run("sdk", "outliving")
    for step in range(10):
        run.log({"loss": float(step)})
    run.finish()
    with Client(server.url) as sdk:
        assert sdk.history(run.id, ["loss"]).series["loss"].total_points == 10
