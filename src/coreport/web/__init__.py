"""HTTP and WebSocket adapters over the sync core and the domain."""
