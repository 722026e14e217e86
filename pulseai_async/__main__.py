"""`python -m pulseai_async ...` is the `pulseai` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
