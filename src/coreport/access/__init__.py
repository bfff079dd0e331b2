"""Access control: users, API keys, browser sessions, report roles, share links, and the
policy that decides what each principal may do (DESIGN.md §6, docs/security.md)."""
