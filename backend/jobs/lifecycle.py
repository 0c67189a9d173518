"""Starting and stopping the scheduler with the app (filled in by the jobs capability)."""

from litestar import Litestar


async def start(app: Litestar) -> None:
    """Start the scheduler for this process."""


async def stop(app: Litestar) -> None:
    """Stop the scheduler of this process."""
