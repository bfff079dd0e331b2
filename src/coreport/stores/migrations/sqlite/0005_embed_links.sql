-- Embed links (coreport.access): read-only views of one panel, or of a whole report, for
-- iframes in other tools. They are share links with a scope: revoked, expired and listed
-- with the report's other links. NULL scope: an ordinary share link.

ALTER TABLE share_links ADD COLUMN embed_kind TEXT
    CHECK (embed_kind IS NULL OR (embed_kind IN ('report', 'panel') AND role = 'viewer'));

-- The embedded panel's id, for (and only for) a panel embed.
ALTER TABLE share_links ADD COLUMN embed_panel_id TEXT
    CHECK ((embed_panel_id IS NOT NULL) = (embed_kind IS 'panel'));
