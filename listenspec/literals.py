"""Integer literals of the format, read without trusting their length.

CPython refuses to convert a decimal string of more than 4,300 digits (sys.int_max_str_digits)
and would turn a long literal into a ValueError traceback; the format's integers are bounded
anyway, so a literal with more significant digits than the bound is out of range as text, and
int() only ever sees short strings.
"""

from __future__ import annotations

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
#: Results may be wider than a C int: a kernel reports unsigned 64-bit values (sysctl reads such
#: as kernel.shmmax on Linux), so a result is any signed or unsigned 64-bit value.
RESULT_MIN = -(2**63)
RESULT_MAX = 2**64 - 1


def bounded_int(text: str, lo: int, hi: int) -> int | None:
    """The value of a literal `-?[0-9]+` if it lies in [lo, hi], else None."""
    if len(text) <= 9:  # the usual case: short enough for int(), whatever the bounds
        value = int(text)
        return value if lo <= value <= hi else None
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(max(-lo, hi))):
        return None
    value = -int(significant) if negative else int(significant)
    return value if lo <= value <= hi else None
