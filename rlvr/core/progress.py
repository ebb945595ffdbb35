"""Progress bars for long commands (`rlvr eval`, `rlvr run`, `rlvr export`): tqdm on stderr, shown
only where someone watches.

    bar = progress_bar(total=1000, progress=None, desc="exporting", unit="problem")
    ...; if bar is not None: bar.update(1)
    say("a line printed without breaking the bar")

`progress`: True shows the bar, False hides it (`--no-progress`), None shows it when stderr is a
terminal (a log file or a pipe gets no bar). tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int, progress: bool | None, desc: str, unit: str = "it", minimum: int = 1) -> Any:
    """A tqdm bar over `total` steps on stderr, or None: none for fewer than `minimum` steps (work
    over in moments), with `progress` False, or with None when stderr is not a terminal."""
    wanted = progress if progress is not None else sys.stderr.isatty()
    if not wanted or total < minimum:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)


def say(text: str) -> None:
    """Print a line to stdout through tqdm, so a bar on the terminal is redrawn below it, not broken."""
    if "tqdm" in sys.modules:  # a bar may be on screen only when tqdm was imported
        from tqdm.auto import tqdm

        tqdm.write(text, file=sys.stdout)
    else:
        print(text, flush=True)
