"""Type-check the whole `listenspec` package with mypy --strict.

The design card puts the package's parts in top-level folders (models/, spec/, proofs/) mapped
into `listenspec` by setuptools; mypy cannot follow that mapping, so this builds the package as
it is installed, out of symlinks, in a temporary directory, and checks that.

    python tools/typecheck.py [extra mypy arguments]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = {"models": "models", "spec": "spec", "proofs": "proofs"}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="listenspec-types-") as tmp:
        pkg = Path(tmp) / "listenspec"
        pkg.mkdir()
        for item in (ROOT / "listenspec").iterdir():
            if item.name != "__pycache__":
                (pkg / item.name).symlink_to(item)
        for name, folder in PARTS.items():
            (pkg / name).symlink_to(ROOT / folder)
        cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
               "--cache-dir", str(Path(tmp) / ".mypy_cache"), "-p", "listenspec", *sys.argv[1:]]
        done = subprocess.run(cmd, cwd=tmp, check=False, capture_output=True, text=True)
        print(done.stdout.replace(str(pkg), "listenspec"), end="")
        print(done.stderr, end="", file=sys.stderr)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
