"""The lock files that scripts/serve and scripts/test install from hold every dependency that
pyproject.toml declares, at a version it allows: a dependency added without `scripts/lock` is
caught here, not on a fresh machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PINNED = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {canonicalize_name(name): version for name, version in PINNED.findall(text)}


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + (project["optional-dependencies"][extra] if extra else [])
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(("lock", "extra"), [("app.lock", None), ("test.lock", "test")])
def test_every_declared_dependency_is_locked_at_an_allowed_version(lock, extra):
    locked = pins(lock)
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements/{lock}: run scripts/lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{requirement.name}=={locked[name]} in {lock} is outside {requirement.specifier}"
        )


def test_every_locked_line_carries_a_hash():
    for lock in ("app.lock", "test.lock"):
        text = (ROOT / "requirements" / lock).read_text()
        for block in re.split(r"\n(?=[A-Za-z0-9])", text.strip()):
            assert "--hash=sha256:" in block, f"{lock}: {block.splitlines()[0]} has no hash"
