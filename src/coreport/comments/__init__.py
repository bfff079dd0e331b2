"""Comment threads: the comments document's layout, its changes and views, and text
anchors into the report's body."""
