"""Backups and restores of the whole database.

SQLite: the online backup API copies a consistent snapshot while the server keeps serving
(WAL readers are not blocked). PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`.
A restore refuses to overwrite a database that holds data unless told to.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from backend import clock
from backend.settings import Settings


class BackupError(RuntimeError):
    pass


def default_backup_path(settings: Settings) -> Path:
    stamp = clock.utcnow().strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite" if settings.is_sqlite else "pgdump"
    return settings.data_dir / "backups" / f"cunzhan-{stamp}.{suffix}"


def backup(settings: Settings, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        source = sqlite3.connect(settings.sqlite_path)
        destination = sqlite3.connect(target)
        try:
            source.backup(destination, pages=1024)
        finally:
            destination.close()
            source.close()
        check = sqlite3.connect(target)
        try:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"the backup at {target} fails its integrity check")
        finally:
            check.close()
    else:
        _pg(settings, ["pg_dump", "--format=custom", "--no-owner", f"--file={target}",
                       *_pg_args(settings)])  # fmt: skip
    return target


def restore(settings: Settings, source: Path, force: bool = False) -> None:
    if not source.exists():
        raise BackupError(f"no backup at {source}")
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path.exists() and path.stat().st_size > 0 and not force:
            raise BackupError(f"{path} already holds a database: stop the server, use --force")
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)
        partial = path.with_suffix(".restoring")
        shutil.copyfile(source, partial)
        os.replace(partial, path)  # atomic: never a half-copied database in place
    else:
        if not force and _pg_has_tables(settings):
            raise BackupError("the database already holds tables: use --force to replace them")
        _pg(settings, ["pg_restore", "--clean", "--if-exists", "--no-owner",
                       *_pg_args(settings, "-d"), str(source)])  # fmt: skip


def _pg_args(settings: Settings, database_flag: str = "") -> list[str]:
    url = urlparse(settings.database_url)
    args = [f"--host={url.hostname or '127.0.0.1'}", f"--port={url.port or 5432}"]
    if url.username:
        args.append(f"--username={url.username}")
    name = (url.path or "/postgres").lstrip("/")
    args += [database_flag, name] if database_flag else [name]
    return args


def _pg_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    password = urlparse(settings.database_url).password
    if password:
        env["PGPASSWORD"] = password
    return env


def _pg_has_tables(settings: Settings) -> bool:
    query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    answer = _pg(settings, ["psql", "-tAc", query, *_pg_args(settings, "-d")])
    return answer.strip() not in ("", "0")


def _pg(settings: Settings, command: list[str]) -> str:
    """Run one of PostgreSQL's client tools (found on PATH) with arguments from configuration."""
    result = subprocess.run(  # noqa: S603 - arguments come from our own settings, no shell
        command, capture_output=True, text=True, env=_pg_env(settings), check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")
    return result.stdout
