"""Masking of villagers' personal data wherever it is shown or exported (138****1234)."""

import re

_PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if "*" in phone or (len(phone) == 4 and phone.isdigit()):
        # A privacy label (138****5678) or a tail (5678) shows no more than a masked number.
        return phone
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * len(phone)


def mask_account(account: str | None) -> str:
    """Bank cards, meter and broadband accounts: keep the last four characters only."""
    if not account:
        return ""
    if len(account) <= 4:
        return "*" * len(account)
    return "*" * (len(account) - 4) + account[-4:]


def mask_phones_in_text(text: str) -> str:
    """For logs: any mainland mobile number inside free text becomes 138****1234."""
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
