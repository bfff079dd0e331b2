"""The SDK's commands of the ``coreport`` CLI: ``report create``, ``report export`` and
``demo``. :func:`register` adds them to the CLI's subcommands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from coreport.client.client import DEFAULT_URL, Client
from coreport.client.demo import run_demo
from coreport.client.errors import CoreportError

API_KEY_ENV = "COREPORT_API_KEY"
URL_ENV = "COREPORT_URL"


def register(commands: Any) -> None:
    """Add ``report`` and ``demo`` to ``commands`` (an argparse subparsers action)."""
    report = commands.add_parser("report", help="create and export reports over the API")
    actions = report.add_subparsers(dest="action", required=True)

    create = actions.add_parser(
        "create", help="create a report from FILE (YAML or JSON: title, project, blocks)"
    )
    create.add_argument("file", type=Path, help="the report; '-' reads standard input")
    _server_options(create)
    create.set_defaults(run=report_create)

    export = actions.add_parser("export", help="print report ID as markdown, html or json")
    export.add_argument("report_id")
    export.add_argument("--format", choices=("markdown", "html", "json"), default="markdown")
    export.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    _server_options(export)
    export.set_defaults(run=report_export)

    demo = commands.add_parser(
        "demo", help="synthetic runs that keep logging, and an example report on them"
    )
    demo.add_argument("--project", default="demo")
    demo.add_argument("--runs", type=int, default=4, help="how many runs (default 4)")
    demo.add_argument("--interval", type=float, default=0.25, help="seconds between steps")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    _server_options(demo)
    demo.set_defaults(run=demo_command)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help=f"the server (default ${URL_ENV} or {DEFAULT_URL})")
    parser.add_argument("--api-key", help=f"an API key (default ${API_KEY_ENV})")


def _client(args: argparse.Namespace) -> Client:
    url = args.url or os.environ.get(URL_ENV) or DEFAULT_URL
    return Client(url, args.api_key or os.environ.get(API_KEY_ENV) or None)


def _fail(args: argparse.Namespace, message: object) -> int:
    name = " ".join(part for part in (args.command, getattr(args, "action", None)) if part)
    print(f"coreport {name}: {message}", file=sys.stderr)
    return 1


def read_report_file(path: Path) -> dict[str, Any]:
    """A report file: JSON or YAML (JSON is YAML) mapping with title, project, blocks; a
    bare list is taken as the blocks."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if isinstance(data, list):
        data = {"blocks": data}
    if not isinstance(data, dict):
        raise ValueError("expected a mapping with title, project and blocks (or a list of blocks)")
    unknown = sorted(set(data) - {"title", "project", "blocks"})
    if unknown:
        raise ValueError(f"unknown top-level key(s): {', '.join(unknown)}")
    return data


def report_create(args: argparse.Namespace) -> int:
    try:
        data = read_report_file(args.file)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return _fail(args, f"cannot read {args.file}: {exc}")
    with _client(args) as client:
        try:
            ref = client.reports.create(
                data.get("title", ""), data.get("project"), data.get("blocks") or []
            )
        except CoreportError as exc:
            return _fail(args, exc)
    print(ref.id)
    print(ref.url)
    return 0


def report_export(args: argparse.Namespace) -> int:
    with _client(args) as client:
        try:
            if args.format == "markdown":
                text = client.reports.markdown(args.report_id)
            elif args.format == "html":
                text = client.reports.html(args.report_id)
            else:
                data = client.api.json("GET", f"/api/reports/{args.report_id}")
                text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        except CoreportError as exc:
            return _fail(args, exc)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def demo_command(args: argparse.Namespace) -> int:
    if args.runs < 1:
        return _fail(args, "--runs must be at least 1")
    with _client(args) as client:
        try:
            run_demo(
                client,
                project=args.project,
                runs=args.runs,
                interval=args.interval,
                duration=args.duration,
                say=lambda line: print(line, flush=True),
            )
        except CoreportError as exc:
            return _fail(args, exc)
        except KeyboardInterrupt:
            # Before the runs began logging (the loop itself stops cleanly on Ctrl-C).
            return _fail(args, "interrupted")
    return 0
