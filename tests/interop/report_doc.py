"""The report document read with pycrdt into the same JSON shape as ``reportContent()`` of
report.mjs, so that what one engine wrote can be compared with what the other read."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Map, Text, XmlElement, XmlFragment, XmlText


def delta(chunks: list[tuple[Any, dict[str, Any] | None]]) -> list[dict[str, Any]]:
    """pycrdt's ``diff()`` chunks as a Yjs delta: ``{insert, attributes?}``."""
    return [
        {"insert": insert, "attributes": attrs} if attrs else {"insert": insert}
        for insert, attrs in chunks
    ]


def xml_content(node: XmlFragment | XmlElement | XmlText) -> dict[str, Any]:
    if isinstance(node, XmlText):
        return {"text": delta(node.diff())}
    if isinstance(node, XmlElement):
        name, attributes = node.tag, dict(node.attributes)
    else:
        name, attributes = "#fragment", {}
    return {
        "name": name,
        "attributes": attributes,
        "children": [xml_content(child) for child in node.children],
    }


def report_content(doc: Doc) -> dict[str, Any]:
    return {
        "title": delta(doc.get("title", type=Text).diff()),
        "panels": doc.get("panels", type=Map).to_py(),
        "body": xml_content(doc.get("body", type=XmlFragment)),
    }
