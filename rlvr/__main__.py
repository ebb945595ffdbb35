"""`python -m rlvr ...`: the `rlvr` command, for launchers that start a module (`torchrun -m rlvr`)."""

import sys

from rlvr.cli import main

sys.exit(main())
