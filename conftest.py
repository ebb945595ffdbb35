"""Collection rules for the doctests under rlvr/: training modules need PyTorch (the `train` extra)."""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("torch") is None:
    collect_ignore_glob.append("rlvr/training/*.py")
