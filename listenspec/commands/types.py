"""The argparse type the subcommands register with."""

from __future__ import annotations

import argparse
from typing import TypeAlias

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
