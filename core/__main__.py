"""``python -m tailorgen`` (so ``torchrun ... -m tailorgen ...`` works)."""

from __future__ import annotations

from tailorgen.cli import main

if __name__ == "__main__":
    main()
