"""What a new password must be: 8 characters or more, more than one kind of character, and not
one of the passwords everybody tries first (common_passwords.txt, shipped with the project)."""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from backend.errors import DomainError

MIN_PASSWORD_LENGTH = 8
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def character_class(char: str) -> str:
    if char.isdigit():
        return "digit"
    if char.isalpha():
        return "upper" if char.isupper() else "lower" if char.islower() else "letter"
    return "other"


def check_password_strength(password: str, field: str = "password") -> None:
    """Raises a localized DomainError saying why a new password is refused."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError("password_too_short", field=field, minimum=MIN_PASSWORD_LENGTH)
    if len({character_class(char) for char in password}) < 2:
        raise DomainError("password_one_class", field=field)
    folded = unicodedata.normalize("NFKC", password).lower()
    if folded in common_passwords() or len(set(folded)) < 4:  # "aaaa1111", "ab1ab1ab1"
        raise DomainError("password_too_common", field=field)
