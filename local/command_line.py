"""What the emulators' command lines share."""

from __future__ import annotations

import argparse


def milliseconds(value: str) -> int:
    """An argparse type: a whole, non-negative number of milliseconds."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of milliseconds") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return number


def port(value: str) -> int:
    """An argparse type: a TCP port number (0: any free port)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number")
    return number
