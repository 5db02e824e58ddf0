"""The one exception type: a malformed script or trace, or a misuse of the API.

A call that a program could make never raises; its failure is an errno result. This type is for
input that is not a program at all (a syntax error, an unknown profile, an unbound name).
"""

from __future__ import annotations

#: How much of the user's own input a message quotes back (a 100 KB name makes no better error).
ECHO_LIMIT = 60
#: A backstop for any message, whatever it quotes.
MESSAGE_LIMIT = 300


def cut(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text`, or its first `limit` characters and an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


class ListenspecError(Exception):
    """Malformed input or API misuse, with the place it was found when there is one."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 col: int | None = None) -> None:
        self.message = cut(message, MESSAGE_LIMIT)
        self.file = file
        self.line = line
        self.col = col
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}" if self.file else self.message
        return f"{self.file or '<script>'}:{self.line}:{self.col or 1}: {self.message}"
