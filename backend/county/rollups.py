"""County aggregates per station, day and kind, kept from the ledger."""


async def refresh() -> int:
    """Recompute the aggregates of the days that received events; returns days refreshed."""
    return 0
