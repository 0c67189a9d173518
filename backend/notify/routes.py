"""HTTP routes of this capability."""

ROUTE_HANDLERS: list = []
