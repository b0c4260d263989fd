"""The project's test tiers (docs/architecture.md, "Tests")."""

# python-quickbooks' own suite, vendored unchanged; it runs on its own with `make peer-tests`.
collect_ignore = ["peer"]
