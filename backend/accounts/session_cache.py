"""The accounts behind recently seen tokens, kept for a few seconds: a phone pushing every few
seconds would otherwise read its session on every request (a statement and a trip to the
database's thread each time).

How a revocation still takes effect:
- In this process, at once: every write to an account or a session (logout, revoking sessions,
  a password or station changed, an account disabled) goes through `accounts.store`, which calls
  `forget_all()` after the statement and again when its transaction ends (`db.after_commit`). A
  lookup that began before either is not kept (its generation is older), so no row read before
  the change was committed outlives it.
- In the other processes of the same server (`--workers`, or the province's), within
  `TTL_SECONDS`: they cannot hear of the write, so an entry is trusted that long at most.
- A session's expiry is checked on every use, cached or not.
Unknown tokens are not kept: a stranger's guesses cost a lookup each, as before, and no memory.
"""

from __future__ import annotations

import time

from backend.accounts.schemas import CurrentUser

TTL_SECONDS = 5.0
MAX_ENTRIES = 20_000  # a province's phones and staff; beyond it the oldest are dropped

_entries: dict[str, tuple[float, int, CurrentUser, float]] = {}
_generation = 0


def generation() -> int:
    """Taken before a lookup and handed to `keep`."""
    return _generation


def get(token_hash: str, expires_at_limit: float) -> CurrentUser | None:
    """The cached account, if looked up less than TTL_SECONDS ago, after every write here, and
    its session not expired at `expires_at_limit` (a POSIX time)."""
    entry = _entries.get(token_hash)
    if entry is None:
        return None
    seen, entry_generation, user, expires_at = entry
    if (
        entry_generation != _generation
        or not 0 <= time.monotonic() - seen < TTL_SECONDS
        or expires_at <= expires_at_limit
    ):
        del _entries[token_hash]
        return None
    return user


def keep(token_hash: str, looked_up_in: int, user: CurrentUser, expires_at: float) -> None:
    if looked_up_in != _generation:
        return  # an account or session changed while it was read: the row may be the old one
    if len(_entries) >= MAX_ENTRIES:
        for old in list(_entries)[: MAX_ENTRIES // 4]:  # dicts keep insertion order
            del _entries[old]
    _entries[token_hash] = (time.monotonic(), looked_up_in, user, expires_at)


def forget_all() -> None:
    """After any write to accounts or sessions (rare): nothing cached before it is used again."""
    global _generation
    _generation += 1
    _entries.clear()
