"""`python -m pulseai_async ...` is the `pulseai` command."""

import sys

from ._cli import main

sys.exit(main())
