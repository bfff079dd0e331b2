"""``coreport demo``: a project of synthetic runs that keep logging, and a report on them.

The runs differ in optimizer and learning rate; their curves are a noisy exponential decay
(loss), its mirror (accuracy) and a cosine schedule (lr), one step per run every
``interval`` seconds, so the report's live panels move while the demo runs.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coreport.client import blocks as b
from coreport.client.client import Client
from coreport.client.errors import CoreportError
from coreport.client.reports import ReportRef
from coreport.client.run import Run
from coreport.reports.blocks import Block

_CONFIGS: list[dict[str, Any]] = [
    {"optimizer": "adam", "lr": 0.003, "batch_size": 64},
    {"optimizer": "sgd", "lr": 0.1, "batch_size": 128},
    {"optimizer": "adamw", "lr": 0.001, "batch_size": 32},
    {"optimizer": "adam", "lr": 0.0003, "batch_size": 64},
    {"optimizer": "sgd", "lr": 0.01, "batch_size": 128},
    {"optimizer": "rmsprop", "lr": 0.001, "batch_size": 32},
]


@dataclass
class SyntheticRun:
    """One run's curve parameters, and the run it logs to."""

    run: Run
    floor: float
    pace: float
    noise: float
    horizon: int
    base_lr: float

    def metrics(self, step: int, rng: random.Random) -> dict[str, float]:
        decay = math.exp(-step / self.pace)
        loss = self.floor + (2.3 - self.floor) * decay + rng.gauss(0, self.noise)
        accuracy = min(1.0, max(0.0, 1 - loss / 2.5 + rng.gauss(0, self.noise / 3)))
        lr = self.base_lr * 0.5 * (1 + math.cos(math.pi * (step % self.horizon) / self.horizon))
        return {"loss": max(loss, 0.0), "accuracy": accuracy, "lr": lr}


def demo_blocks(project: str, tag: str) -> list[Block]:
    """The example report: text, a callout and a grid of panels over the demo's runs."""
    runs = b.runset(project, filters={"tag": tag}, name="Demo runs")
    return [
        b.h1("coreport demo"),
        b.p(
            "Synthetic runs of project ",
            b.code_span(project),
            " logging live: ",
            b.bold("loss"),
            " decays, ",
            b.bold("accuracy"),
            " rises, ",
            b.italic("lr"),
            " follows a cosine schedule.",
        ),
        b.callout(
            "Panels update while ",
            b.code_span("coreport demo"),
            " runs; edit this text freely.",
            kind="tip",
        ),
        b.h2("Training curves"),
        b.panel_grid(
            runsets=[runs],
            panels=[
                b.line("loss", title="Loss", smoothing=0.6),
                b.line("accuracy", title="Accuracy by optimizer", group_by="config.optimizer"),
                b.line("lr", title="Learning rate"),
                b.bar("accuracy", title="Latest accuracy"),
                b.run_table("loss", "accuracy", title="Runs"),
            ],
        ),
        b.h2("Notes"),
        b.bullets(
            "Adam converges fastest here.", ["SGD with ", b.code_span("lr=0.1"), " is noisy."]
        ),
    ]


def start_runs(client: Client, project: str, count: int, tag: str, seed: int) -> list[SyntheticRun]:
    rng = random.Random(seed)
    runs = []
    for i in range(count):
        config = {**_CONFIGS[i % len(_CONFIGS)], "seed": seed + i}
        name = f"{config['optimizer']}-lr{config['lr']}-{i}"
        run = client.init_run(project, name, config=config, tags=["demo", tag])
        runs.append(
            SyntheticRun(
                run=run,
                floor=rng.uniform(0.05, 0.4),
                pace=rng.uniform(40, 200),
                noise=rng.uniform(0.01, 0.06),
                horizon=rng.choice([200, 400]),
                base_lr=float(config["lr"]),
            )
        )
    return runs


def run_demo(
    client: Client,
    *,
    project: str = "demo",
    runs: int = 4,
    interval: float = 0.25,
    duration: float | None = None,
    stop: threading.Event | None = None,
    say: Callable[[str], None] = print,
    seed: int | None = None,
) -> ReportRef:
    """Create the runs and the report, then log a step per run every ``interval`` seconds
    until ``stop`` is set, ``duration`` passes or the process is interrupted; finish the
    runs and answer the report."""
    stop = stop or threading.Event()
    seed = random.randrange(1_000_000) if seed is None else seed
    tag = f"demo-{secrets.token_hex(3)}"
    synthetic = start_runs(client, project, runs, tag, seed)
    try:
        ref = client.reports.create(f"Demo ({tag})", project, demo_blocks(project, tag))
        say(f"report: {ref.url}")
        say(f"{runs} runs of project {project!r} (tag {tag}) are logging; Ctrl-C stops them")
        rng = random.Random(seed)
        end = None if duration is None else time.monotonic() + duration
        step = 0
        try:
            while end is None or time.monotonic() < end:
                for item in synthetic:
                    item.run.log(item.metrics(step, rng), step=step)
                step += 1
                # Pacing, not synchronisation: the demo logs at a human-visible speed.
                if stop.wait(interval):
                    break
        except KeyboardInterrupt:
            say("interrupted")
        say(f"logged {step} steps per run")
        return ref
    finally:
        _finish(synthetic, say)


def _finish(synthetic: list[SyntheticRun], say: Callable[[str], None]) -> None:
    for item in synthetic:
        try:
            item.run.finish("finished", timeout=10)
        except CoreportError as exc:
            say(f"run {item.run.id}: {exc}")
