"""Document names: how a report id maps to the documents the store and bus know."""

from __future__ import annotations

import re

from coreport.ports import DocName

REPORT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadReportId(ValueError):
    """A report id that is not 1-64 characters of ``A-Z a-z 0-9 _ -``."""


def check_report_id(report_id: str) -> str:
    if not REPORT_ID.fullmatch(report_id):
        raise BadReportId(
            f"report id must be 1-64 characters of A-Z a-z 0-9 _ -, got {report_id!r}"
        )
    return report_id


def report_doc(report_id: str) -> DocName:
    """The report's own document (title, body, grids, panels, runsets)."""
    return f"reports/{check_report_id(report_id)}"


def comments_doc(report_id: str) -> DocName:
    """The report's comment threads."""
    return f"reports/{check_report_id(report_id)}/comments"
