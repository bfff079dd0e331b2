"""The sync core: rooms (loaded documents), the registry, client sessions, group commit."""
