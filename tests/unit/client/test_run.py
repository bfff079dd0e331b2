"""``Run.log`` and its uploader against a fake runs API: batching, retries without
duplicates, bounded memory that never blocks, finishing."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import pytest

from coreport.client import Client, Conflict, Run, UploadIncomplete
from tests.unit.client.fakes import FakeRunsApi, refuse_connection, status


@pytest.fixture
def fake() -> FakeRunsApi:
    return FakeRunsApi()


def no_pause(attempt: int) -> float:
    return 0.0


def start(fake: FakeRunsApi, **options: Any) -> Run:
    client = Client("http://coreport.test", transport=fake.transport())
    options.setdefault("backoff", no_pause)
    return client.init_run("mnist", "first", config={"lr": 0.1}, **options)


def test_init_run_creates_the_run_with_a_client_chosen_id(fake: FakeRunsApi) -> None:
    run = start(fake, tags=["ci"], code={"git_commit": "abc123"})
    run.finish()
    method, path, body = fake.requests[0]
    assert (method, path) == ("POST", "/api/projects/mnist/runs")
    assert body["id"] == run.id
    assert body["name"] == "first"
    assert body["config"] == {"lr": 0.1}
    assert body["tags"] == ["ci"]
    assert body["code"] == {"git_commit": "abc123"}
    assert fake.patches[-1] == {"state": "finished"}


def test_a_retried_create_finds_its_own_run(fake: FakeRunsApi) -> None:
    first = start(fake, run_id="r1")
    first.finish()
    again = start(fake, run_id="r1")
    assert again.id == "r1"
    again.finish()


def test_a_create_that_collides_with_another_run_raises(fake: FakeRunsApi) -> None:
    client = Client("http://coreport.test", transport=fake.transport())
    client.init_run("mnist", run_id="r1", config={"lr": 1}).finish()
    with pytest.raises(Conflict):
        client.init_run("mnist", run_id="r1", config={"lr": 2})


def test_rows_go_out_in_batches_in_step_order(fake: FakeRunsApi) -> None:
    run = start(fake, batch_rows=100, flush_interval=3600)
    for step in range(250):
        run.log({"loss": 1 / (step + 1)})
    assert run.flush(timeout=10)
    assert [len(rows) for rows in fake.history_posts] == [100, 100, 50]
    sent = [row["step"] for rows in fake.history_posts for row in rows]
    assert sent == list(range(250))
    run.finish()
    assert run.stats.delivered == 250


def test_steps_count_up_and_a_step_logged_twice_is_merged(fake: FakeRunsApi) -> None:
    run = start(fake, flush_interval=3600)
    run.log({"loss": 1.0})
    run.log({"loss": 0.5})
    run.log({"acc": 0.7}, step=1)
    run.log({"loss": 0.25}, step=10)
    run.log({"loss": 0.2})
    run.finish()
    rows = [row for rows in fake.history_posts for row in rows]
    assert [(row["step"], row["metrics"]) for row in rows] == [
        (0, {"loss": 1.0}),
        (1, {"loss": 0.5, "acc": 0.7}),
        (10, {"loss": 0.25}),
        (11, {"loss": 0.2}),
    ]


def test_failed_batches_are_retried_without_duplicates(fake: FakeRunsApi) -> None:
    fake.failures = [refuse_connection, status(503), fake.lost_answer(), status(429)]
    run = start(fake)
    for step in range(10):
        run.log({"loss": float(step)})
    run.finish(timeout=10)
    assert fake.steps("loss") == list(range(10))
    assert run.stats.retries == 4
    assert run.stats.delivered == 10
    # The batch whose answer was lost reached the store twice, unchanged.
    assert fake.history_posts[0] == fake.history_posts[1]


def test_a_refused_batch_is_reported_by_finish(fake: FakeRunsApi) -> None:
    fake.failures = [status(422, {"error": "invalid request", "detail": []})]
    run = start(fake)
    run.log({"loss": 1.0})
    with pytest.raises(UploadIncomplete, match="1 refused") as caught:
        run.finish()
    assert caught.value.undelivered == 1
    assert run.stats.refused == 1
    assert fake.patches[-1] == {"state": "finished"}


def test_log_never_blocks_and_memory_stays_bounded(
    fake: FakeRunsApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.open.clear()  # the server hangs on every history request
    run = start(fake, batch_rows=10, max_pending=100, flush_interval=0)
    run.log({"loss": 0.0})
    assert fake.history_arrived.wait(10)  # the sender is stuck inside a request
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="coreport.client.uploader"):
        for step in range(1, 1001):
            run.log({"loss": float(step)}, step=step)
            if step == 500:
                run.log({"eval": 42.0}, step=step)
    assert time.monotonic() - began < 5  # 1,000 calls while the server is stuck
    assert run.pending <= 101
    assert run.stats.coalesced >= 900
    assert len([r for r in caplog.records if "coalescing" in r.getMessage()]) == 1
    fake.open.set()
    run.finish(timeout=10)
    loss_steps = fake.steps("loss")
    assert loss_steps[0] == 0
    assert loss_steps[-1] == 1000  # the newest point is never dropped
    assert fake.points[(1000, "loss")] == 1000.0
    eval_steps = fake.steps("eval")
    assert len(eval_steps) == 1
    assert eval_steps[0] >= 500  # a sparse metric survives coalescing


def test_finish_gives_up_at_its_timeout_while_the_server_is_down(fake: FakeRunsApi) -> None:
    fake.failures = [refuse_connection] * 10_000
    run = start(fake, backoff=lambda attempt: 3600.0)
    for step in range(5):
        run.log({"loss": float(step)})
    began = time.monotonic()
    with pytest.raises(UploadIncomplete, match="5 step"):
        run.finish(timeout=0.2)
    assert time.monotonic() - began < 5
    assert run.stats.retries == 0
    assert fake.patches[-1] == {"state": "finished"}


def test_flush_does_not_wait_for_the_interval(fake: FakeRunsApi) -> None:
    run = start(fake, flush_interval=3600)
    run.log({"loss": 1.0})
    assert run.flush(timeout=10)
    assert fake.steps("loss") == [0]
    run.finish()


def test_bad_metrics_fail_in_the_training_loop(fake: FakeRunsApi) -> None:
    run = start(fake)
    with pytest.raises(TypeError, match="expected a number"):
        run.log({"loss": "0.5"})
    with pytest.raises(TypeError, match="expected a number"):
        run.log({"flag": True})
    with pytest.raises(ValueError, match="metric name"):
        run.log({"a,b": 1.0})
    with pytest.raises(ValueError, match="step must be"):
        run.log({"loss": 1.0}, step=-1)
    with pytest.raises(TypeError, match="step must be an int"):
        run.log({"loss": 1.0}, step=1.5)  # type: ignore[arg-type]
    run.finish()
    assert fake.history_posts == []


def test_non_finite_values_are_left_out_with_one_warning(
    fake: FakeRunsApi, caplog: pytest.LogCaptureFixture
) -> None:
    run = start(fake)
    with caplog.at_level(logging.WARNING, logger="coreport.client.run"):
        run.log({"loss": math.nan, "acc": 0.5})
        run.log({"loss": math.inf, "acc": 0.6})
    run.finish()
    assert fake.steps("acc") == [0, 1]
    assert fake.steps("loss") == []
    assert len([r for r in caplog.records if "loss" in r.message]) == 1


class Scalar:
    """What a 0-d array or tensor looks like to log()."""

    def __init__(self, value: float) -> None:
        self.value = value

    def item(self) -> float:
        return self.value


def test_scalars_with_item_are_accepted(fake: FakeRunsApi) -> None:
    run = start(fake)
    run.log({"loss": Scalar(0.25), "n": 3})
    run.finish()
    assert fake.points[(0, "loss")] == 0.25
    assert fake.points[(0, "n")] == 3.0


def test_summary_follows_the_latest_values_and_updates(fake: FakeRunsApi) -> None:
    run = start(fake, flush_interval=3600)
    run.log({"loss": 0.5}, step=3)
    run.log({"loss": 0.9}, step=1)  # an earlier step does not replace the latest value
    run.summary.update({"best_loss": 0.5})
    run.summary["notes"] = "ok"
    assert dict(run.summary) == {"loss": 0.5, "best_loss": 0.5, "notes": "ok"}
    run.finish()
    merged: dict[str, Any] = {}
    for patch in fake.patches:
        merged |= patch.get("summary", {})
    assert merged == {"loss": 0.5, "best_loss": 0.5, "notes": "ok"}
    assert fake.patches[-1] == {"state": "finished"}


def train_and_fail(fake: FakeRunsApi) -> None:
    with start(fake) as run:
        run.log({"loss": 1.0})
        raise ZeroDivisionError("diverged")


def test_the_context_manager_marks_a_failed_run(fake: FakeRunsApi) -> None:
    with pytest.raises(ZeroDivisionError, match="diverged"):
        train_and_fail(fake)
    assert fake.patches[-1] == {"state": "failed"}
    assert fake.steps("loss") == [0]


def test_logging_after_finish_is_an_error(fake: FakeRunsApi) -> None:
    run = start(fake)
    run.finish()
    run.finish()  # a second finish does nothing
    with pytest.raises(RuntimeError, match="finished"):
        run.log({"loss": 1.0})
    assert [p for p in fake.patches if "state" in p] == [{"state": "finished"}]


def test_flush_answers_false_when_its_timeout_passes(fake: FakeRunsApi) -> None:
    fake.open.clear()
    run = start(fake)
    run.log({"loss": 1.0})
    assert not run.flush(timeout=0.05)
    assert run.pending == 1
    fake.open.set()
    assert run.flush(timeout=10)
    assert run.pending == 0
    run.finish()


def test_a_summary_key_set_to_none_is_deleted(fake: FakeRunsApi) -> None:
    run = start(fake, auto_summary=False)
    run.summary.update(best=1.0, note="x")
    run.summary["note"] = None
    assert dict(run.summary) == {"best": 1.0}
    run.finish()
    summaries = [patch["summary"] for patch in fake.patches if "summary" in patch]
    merged: dict[str, Any] = {}
    for summary in summaries:
        merged |= summary
    assert merged == {"best": 1.0, "note": None}  # a merge patch: null deletes on the server
