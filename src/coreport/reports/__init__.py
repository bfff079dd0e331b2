"""Reports: the report document's layout, the Report API's blocks and their conversion to
and from the live CRDT document, and the Markdown and HTML exports."""
