"""Domain errors. Each message is exactly what the user is shown (ephemerally)."""

from __future__ import annotations

from collections.abc import Sequence


class CbaError(Exception):
    """A request the bot refuses; nothing it did is kept."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def user_text(self) -> str:
        if self.usage:
            return f"{self.message}\n{self.usage}"
        return self.message


class UsageError(CbaError):
    """The command's words are wrong; the reply carries the correct usage."""


class NotFound(CbaError):
    def __init__(self, kind: str, ident: int | str, *, usage: str | None = None) -> None:
        shown = f"{kind} #{ident}" if isinstance(ident, int) else f"{kind} {ident}"
        super().__init__(f":mag: There is no {shown}.", usage=usage)
        self.kind = kind
        self.ident = ident


class NotPermitted(CbaError):
    def __init__(self, *roles: str, action: str = "do that") -> None:
        needed = " or ".join(roles) if roles else "a different role"
        article = "an" if needed[:1] in "aeiou" else "a"
        super().__init__(f":no_entry: You need to be {article} {needed} to {action}.")
        self.roles = roles


def not_registered_text(organisers: Sequence[str]) -> str:
    """What a workspace member the Academy does not know is told (SPEC 3, Membership): whom to ask."""
    whom = ", ".join(f"<@{slack_id}>" for slack_id in organisers)
    ask = f"Please ask an organiser to add you: {whom}." if whom else "Please ask the Academy's organisers to add you."
    return f":wave: You are not registered in the Cluster Booster Academy yet. {ask}"


class NotRegistered(CbaError):
    """The caller holds no role: everything but /cba-help is refused, and nothing is stored about them."""

    def __init__(self, organisers: Sequence[str]) -> None:
        super().__init__(not_registered_text(organisers))
        self.organisers = tuple(organisers)


class Conflict(CbaError):
    """The request was valid but the world changed (slot just taken, already answered…)."""


class FieldErrors(CbaError):
    """Modal input errors, keyed by input block_id, shown on the fields themselves."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
