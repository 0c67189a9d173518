"""HTTP API of the county centre (rollups, exports, subsidies, reporting)."""

ROUTE_HANDLERS: list = []
