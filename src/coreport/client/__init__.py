"""The coreport Python SDK: log runs and write reports from scripts and CI jobs.

::

    from coreport.client import Client, blocks as b

    client = Client("http://127.0.0.1:8000", api_key="cpk_...")
    with client.init_run("mnist", config={"lr": 0.1}) as run:
        for step in range(100):
            run.log({"loss": 1 / (step + 1)})
    ref = client.reports.create("MNIST", "mnist", [b.h1("MNIST"), b.panel_grid([b.line("loss")])])

See docs/sdk.md.
"""

from coreport.client import blocks
from coreport.client.client import DEFAULT_URL, Client
from coreport.client.errors import (
    Conflict,
    CoreportError,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    ServerUnreachable,
    Unauthorized,
    UploadIncomplete,
)
from coreport.client.reports import ReportContent, ReportInfo, ReportRef, Reports
from coreport.client.run import Run, Summary

__all__ = [
    "DEFAULT_URL",
    "Client",
    "Conflict",
    "CoreportError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "ReportContent",
    "ReportInfo",
    "ReportRef",
    "Reports",
    "Run",
    "ServerError",
    "ServerUnreachable",
    "Summary",
    "Unauthorized",
    "UploadIncomplete",
    "blocks",
]
