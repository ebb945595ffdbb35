"""A small finite-domain constraint solver shared by the grid puzzles.

Each variable (a grid cell) has a domain stored as a bit mask: value v is possible when bit v is
set. Constraints prune domains in place; `Csp.propagate` runs them to a fixpoint through watch
lists (a constraint re-runs only when one of its cells changed). `search` is a depth-first
backtracking search with the smallest-domain-first rule that counts solutions up to a limit and
stops after `max_nodes` nodes, reporting whether it finished. Passing a numpy Generator shuffles
the value order, which turns the first solution of an unconstrained grid into a random one.

>>> csp = Csp([0b110] * 2, [AllDifferent((0, 1), permutation=True), Less(0, 1)])
>>> result = search(csp, limit=2)
>>> result.values(), result.complete
([[1, 2]], True)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_NODES = 50_000


def mask_of(values: Iterable[int]) -> int:
    """The domain holding exactly `values`."""
    mask = 0
    for value in values:
        mask |= 1 << value
    return mask


def values_of(mask: int) -> list[int]:
    """The values in a domain, ascending."""
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


class Constraint:
    """Base class: `cells` it watches and `prune(domains)` -> changed cells, or None on a dead end."""

    cells: tuple[int, ...] = ()

    def prune(self, domains: list[int]) -> list[int] | None:  # pragma: no cover - interface
        raise NotImplementedError


class AllDifferent(Constraint):
    """Cells take pairwise different values. With `permutation=True` the cells hold every value of
    their joint domain exactly once (a Latin row), which adds the "hidden single" rule: a value
    that fits only one cell goes there."""

    def __init__(self, cells: Sequence[int], *, permutation: bool = False) -> None:
        self.cells = tuple(cells)
        self.permutation = permutation

    def prune(self, domains: list[int]) -> list[int] | None:
        changed: list[int] = []
        while True:
            fixed = 0
            for cell in self.cells:
                domain = domains[cell]
                if domain & (domain - 1) == 0:
                    if domain == 0 or fixed & domain:
                        return None
                    fixed |= domain
            progress = False
            for cell in self.cells:
                domain = domains[cell]
                if domain & (domain - 1) and domain & fixed:
                    domain &= ~fixed
                    if domain == 0:
                        return None
                    domains[cell] = domain
                    changed.append(cell)
                    progress = True
            if self.permutation:
                once = twice = 0
                for cell in self.cells:
                    twice |= once & domains[cell]
                    once |= domains[cell]
                if once.bit_count() < len(self.cells):
                    return None
                single = once & ~twice
                for cell in self.cells:
                    domain = domains[cell]
                    hidden = domain & single
                    if domain & (domain - 1) and hidden:
                        if hidden & (hidden - 1):
                            return None  # two values that fit nowhere else, one cell
                        domains[cell] = hidden
                        changed.append(cell)
                        progress = True
            if not progress:
                return changed


class Less(Constraint):
    """value(smaller) < value(larger)."""

    def __init__(self, smaller: int, larger: int) -> None:
        self.cells = (smaller, larger)

    def prune(self, domains: list[int]) -> list[int] | None:
        smaller, larger = self.cells
        low, high = domains[smaller], domains[larger]
        if low == 0 or high == 0:
            return None
        new_low = low & ((1 << (high.bit_length() - 1)) - 1)  # below the largest possible larger value
        new_high = high & ~((1 << ((low & -low).bit_length())) - 1)  # above the smallest smaller value
        if new_low == 0 or new_high == 0:
            return None
        domains[smaller], domains[larger] = new_low, new_high
        return [cell for cell, old, new in ((smaller, low, new_low), (larger, high, new_high)) if old != new]


class Table(Constraint):
    """The cells' values form one of the allowed tuples; pruning keeps every value that still
    appears in a tuple compatible with all domains (generalised arc consistency)."""

    def __init__(self, cells: Sequence[int], allowed: Iterable[Sequence[int]]) -> None:
        self.cells = tuple(cells)
        self.allowed = tuple(tuple(1 << v for v in row) for row in allowed)

    def prune(self, domains: list[int]) -> list[int] | None:
        current = [domains[cell] for cell in self.cells]
        support = [0] * len(self.cells)
        found = False
        for row in self.allowed:
            if all(domain & bit for domain, bit in zip(current, row, strict=False)):
                found = True
                for position, bit in enumerate(row):
                    support[position] |= bit
        if not found:
            return None
        changed = []
        for position, cell in enumerate(self.cells):
            if current[position] & ~support[position]:
                domains[cell] = current[position] & support[position]
                changed.append(cell)
        return changed


class Csp:
    """Domains plus constraints, with the watch lists propagation needs."""

    def __init__(self, domains: Sequence[int], constraints: Sequence[Constraint]) -> None:
        self.domains = list(domains)
        self.constraints = tuple(constraints)
        self.watch: list[list[int]] = [[] for _ in self.domains]
        for index, constraint in enumerate(self.constraints):
            for cell in constraint.cells:
                self.watch[cell].append(index)

    def propagate(self, domains: list[int], pending: Iterable[int]) -> bool:
        """Run constraints (starting with `pending`) until nothing changes; False on a dead end."""
        queue = deque(pending)
        queued = set(queue)
        while queue:
            index = queue.popleft()
            queued.discard(index)
            changed = self.constraints[index].prune(domains)
            if changed is None:
                return False
            for cell in changed:
                for other in self.watch[cell]:
                    if other != index and other not in queued:
                        queue.append(other)
                        queued.add(other)
        return True


@dataclass(frozen=True)
class SearchResult:
    """Solutions found (as domain lists with one bit each), whether the search finished, its size."""

    solutions: tuple[tuple[int, ...], ...]
    complete: bool
    nodes: int

    def values(self) -> list[list[int]]:
        return [[domain.bit_length() - 1 for domain in solution] for solution in self.solutions]


def search(
    csp: Csp, *, limit: int = 2, max_nodes: int = DEFAULT_MAX_NODES, rng: np.random.Generator | None = None
) -> SearchResult:
    """Up to `limit` solutions; `complete` is False when `max_nodes` ran out first (the count is
    then a lower bound). With `rng` the values of each branching cell are tried in random order."""
    domains = list(csp.domains)
    if not csp.propagate(domains, range(len(csp.constraints))):
        return SearchResult((), True, 0)
    solutions: list[tuple[int, ...]] = []
    stack: list[tuple[list[int], int, int]] = []
    nodes = 0

    def branch(state: list[int]) -> bool:
        """Push the children of `state`; True when `state` is already a solution."""
        best, best_size = -1, 1 << 30
        for cell, domain in enumerate(state):
            if domain & (domain - 1):
                size = domain.bit_count()
                if size < best_size:
                    best, best_size = cell, size
                    if size == 2:
                        break
        if best < 0:
            return True
        choices = values_of(state[best])
        if rng is not None:
            choices = [choices[i] for i in rng.permutation(len(choices))]
        for value in reversed(choices):  # the stack pops the first choice first
            stack.append((state, best, value))
        return False

    if branch(domains):
        return SearchResult((tuple(domains),), True, 1)
    while stack:
        nodes += 1
        if nodes > max_nodes:
            return SearchResult(tuple(solutions), False, nodes)
        parent, cell, value = stack.pop()
        state = parent.copy()
        state[cell] = 1 << value
        if not csp.propagate(state, csp.watch[cell]):
            continue
        if branch(state):
            solutions.append(tuple(state))
            if len(solutions) >= limit:
                break
    return SearchResult(tuple(solutions), True, nodes)


def is_unique(csp: Csp, max_nodes: int = DEFAULT_MAX_NODES) -> bool:
    """True only when the search proves exactly one solution (running out of nodes is a no)."""
    result = search(csp, limit=2, max_nodes=max_nodes)
    return result.complete and len(result.solutions) == 1
