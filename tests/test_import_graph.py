"""The import graph of rlvr/ follows the layers of `rlvr.layers`, with no cycle and no sideways
import between env families.

Every module is read statically (ast): imports at module level, imports inside functions (they
run on first call, so they couple modules all the same) and imports under `if TYPE_CHECKING:`
(never run; checked for direction, in a test of their own). The checks are plain functions of a
list of `Import`s, so the last tests feed them a made-up package to show each one can fail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.layers import FAMILY_OF, HEAVY, KITS, LAYERS, family_of, layer_of

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("module", "function")

# ----------------------------------------------------------------------------- known exceptions
# Today's violations, each to be removed as the code moves; both tests fail on a new one and on a
# listed one that no longer occurs, so these lists only shrink. Empty them, never add to them.

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Module cycles allowed to remain (none: add one only with the reason it cannot be broken)."""

KNOWN_SIDEWAYS: set[tuple[str, str]] = set()
"""(importer, imported) module pairs in different env families, the imported one no kit."""


# ------------------------------------------------------------------------------------- the graph


@dataclass(frozen=True)
class Import:
    source: str
    """The importing module (dotted)."""
    target: str
    """The imported module of the package (dotted), or the top-level name of any other module."""
    line: int
    kind: str
    """"module" (runs on import), "function" (runs on call) or "typing" (under TYPE_CHECKING)."""
    internal: bool
    resolved: bool = True
    """False for a name of the package that is no module of it (a stale path)."""

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}, {self.kind})"


def modules_of(package: Path) -> dict[str, Path]:
    """Dotted name -> file for every module under `package` (a folder's module is its __init__)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Reader(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, modules: Iterable[str], top: str):
        self.module, self.modules, self.top = module, set(modules), top
        self.package = module if is_package else module.rpartition(".")[0]
        self.kind, self.found = "module", []

    def _add(self, node: ast.stmt, target: str) -> None:
        internal = target == self.top or target.startswith(self.top + ".")
        if not internal:
            target = target.split(".")[0]
        self.found.append(Import(self.module, target, node.lineno, self.kind, internal,
                                 not internal or target in self.modules))

    def _scoped(self, node: ast.AST, kind: str) -> None:
        outer, self.kind = self.kind, (self.kind if self.kind == "typing" else kind)
        self.generic_visit(node)
        self.kind = outer

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, "function")

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self.kind = self.kind, "typing"
        for child in node.body:
            self.visit(child)
        self.kind = outer
        for child in node.orelse:  # the else branch is what runs
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: from the package, one level up per extra dot
            anchor = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in self.modules]
        for target in submodules:  # `from pkg import module` imports that module
            self._add(node, target)
        if len(submodules) < len(node.names):  # names defined in `base` itself
            self._add(node, base)


def read_imports(package: Path) -> tuple[dict[str, Path], list[Import]]:
    """Every module of `package` and every import statement in it."""
    modules = modules_of(package)
    imports = []
    for name, path in modules.items():
        reader = _Reader(name, path.name == "__init__.py", modules, package.name)
        reader.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        imports.extend(reader.found)
    return modules, imports


# ------------------------------------------------------------------------------------ the checks


def unplaced(modules: dict[str, Path], root: Path) -> list[str]:
    return [name for name, path in modules.items() if layer_of(path.relative_to(root).as_posix()) is None]


def _rank(modules: dict[str, Path], root: Path) -> dict[str, int]:
    ranks = {}
    for name, path in modules.items():
        layer = layer_of(path.relative_to(root).as_posix())
        if layer is not None:
            ranks[name] = LAYERS.index(layer)
    return ranks


def upward(imports: list[Import], modules: dict[str, Path], root: Path, kinds: tuple[str, ...]) -> list[str]:
    rank = _rank(modules, root)
    return [f"{i}: {LAYERS[rank[i.source]].name} imports {LAYERS[rank[i.target]].name}"
            for i in imports if i.kind in kinds and i.internal and i.resolved
            and i.source in rank and i.target in rank and rank[i.target] > rank[i.source]]


def heavy(imports: list[Import], modules: dict[str, Path], root: Path) -> list[str]:
    rank = _rank(modules, root)
    return [f"{i}: the {LAYERS[rank[i.source]].name} layer must not need {i.target}"
            for i in imports if not i.internal and i.target in HEAVY
            and i.source in rank and LAYERS[rank[i.source]].light]


def sideways(imports: list[Import]) -> set[tuple[str, str]]:
    pairs = set()
    for i in imports:
        source, target = family_of(i.source), family_of(i.target)
        if i.internal and i.resolved and source and target and source != target and target not in KITS:
            pairs.add((i.source, i.target))
    return pairs


def cycles(imports: list[Import], kinds: tuple[str, ...] = RUNTIME) -> set[frozenset[str]]:
    """The strongly connected parts of more than one module (Tarjan's algorithm, iterative)."""
    edges: dict[str, set[str]] = {}
    for i in imports:
        if i.internal and i.resolved and i.kind in kinds and i.source != i.target:
            edges.setdefault(i.source, set()).add(i.target)
            edges.setdefault(i.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = set()
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    part = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        part.add(member)
                        if member == node:
                            break
                    if len(part) > 1:
                        found.add(frozenset(part))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def _against_known(found: set, known: set, what: str) -> list[str]:
    def show(item: object) -> object:
        return sorted(item) if isinstance(item, frozenset) else item

    return ([f"new {what}: {show(x)}" for x in sorted(found - known, key=str)]
            + [f"listed {what} no longer occurs, remove it from the known list: {show(x)}"
               for x in sorted(known - found, key=str)])


# ---------------------------------------------------------------------------- rlvr/ as it stands

MODULES, IMPORTS = read_imports(ROOT / "rlvr")


def test_every_module_has_a_layer():
    assert unplaced(MODULES, ROOT) == [], "add its path to a layer in rlvr/layers.py (and the README)"


def test_every_import_of_the_package_names_a_module():
    assert [str(i) for i in IMPORTS if not i.resolved] == []


def test_no_import_points_up():
    assert upward(IMPORTS, MODULES, ROOT, RUNTIME) == []


def test_type_only_imports_point_down_too():
    assert upward(IMPORTS, MODULES, ROOT, ("typing",)) == []


def test_light_layers_import_no_training_stack():
    assert heavy(IMPORTS, MODULES, ROOT) == []


def test_no_cycles_but_the_known_ones():
    assert _against_known(cycles(IMPORTS), KNOWN_CYCLES, "import cycle") == []


def test_no_family_imports_another_but_the_known_ones():
    assert _against_known(sideways(IMPORTS), KNOWN_SIDEWAYS, "import between env families") == []


def test_kits_and_versioned_modules_named_in_the_table_exist():
    envs = ROOT / "rlvr" / "envs"
    assert [kit for kit in KITS if not (envs / kit / "__init__.py").is_file()] == []
    assert [name for name in FAMILY_OF if not (envs / f"{name}.py").is_file()] == []
    assert [family for family in FAMILY_OF.values() if not (envs / family).is_dir()] == []


def test_the_readme_lists_the_same_layers():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    block = section.split("```")[1]
    listed = []
    for line in block.splitlines():
        match = re.match(r"(\w+) +((?:rlvr/\S+ +)+)", line + " ")
        if match:
            listed.append((match.group(1), tuple(match.group(2).split())))
    assert listed == [(layer.name, layer.paths) for layer in LAYERS]
    light = re.search(r"Light layers: ([\w, ]+)\.", section)
    assert light and light.group(1).split(", ") == [layer.name for layer in LAYERS if layer.light]


# ---------------------------------------------------------------------- the checks can fail

SYNTHETIC = {
    "rlvr/__init__.py": "",
    "rlvr/core/__init__.py": "",
    "rlvr/core/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from rlvr.agents import x\n",
    "rlvr/core/b.py": "def late():\n    from rlvr.envs.one import task  # upward, inside a function\n",
    "rlvr/rewards/__init__.py": "import torch\n",
    "rlvr/envs/__init__.py": "",
    "rlvr/envs/one/__init__.py": "",
    "rlvr/envs/one/task.py": "from rlvr.envs.two import task\nfrom rlvr.envs.arithmetic import kit\n",
    "rlvr/envs/two/__init__.py": "",
    "rlvr/envs/two/task.py": "from . import helper\nfrom rlvr.envs.one.task import Thing\n",
    "rlvr/envs/two/helper.py": "from rlvr.envs.gone import nothing\n",
    "rlvr/envs/arithmetic/__init__.py": "",
    "rlvr/envs/arithmetic/kit.py": "",
    "rlvr/agents/__init__.py": "",
    "rlvr/serve.py": "",
}


def test_each_check_catches_its_violation(tmp_path):
    for name, source in SYNTHETIC.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    modules, imports = read_imports(tmp_path / "rlvr")
    assert unplaced(modules, tmp_path) == ["rlvr.serve"]
    stale = [str(i) for i in imports if not i.resolved]
    assert stale == ["rlvr.envs.two.helper -> rlvr.envs.gone (line 1, module)"]
    assert upward(imports, modules, tmp_path, RUNTIME) == [
        "rlvr.core.b -> rlvr.envs.one.task (line 2, function): core imports envs"]
    assert upward(imports, modules, tmp_path, ("typing",)) == [
        "rlvr.core.a -> rlvr.agents (line 3, typing): core imports agents"]
    assert heavy(imports, modules, tmp_path) == [
        "rlvr.rewards -> torch (line 1, module): the rewards layer must not need torch"]
    assert cycles(imports) == {frozenset({"rlvr.envs.one.task", "rlvr.envs.two.task"})}
    assert sideways(imports) == {("rlvr.envs.one.task", "rlvr.envs.two.task"),
                                 ("rlvr.envs.two.task", "rlvr.envs.one.task")}  # the kit import is allowed
    assert _against_known(cycles(imports), {frozenset({"rlvr.x", "rlvr.y"})}, "import cycle") == [
        "new import cycle: ['rlvr.envs.one.task', 'rlvr.envs.two.task']",
        "listed import cycle no longer occurs, remove it from the known list: ['rlvr.x', 'rlvr.y']"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=30))
def test_cycles_are_exactly_the_modules_that_reach_each_other(edges):
    imports = [Import(f"rlvr.m{a}", f"rlvr.m{b}", 1, "module", True) for a, b in edges]
    reach = {n: {n} for n in range(8)}
    for _ in range(8):  # transitive closure by repeated relaxation (8 nodes: 8 rounds suffice)
        for a, b in edges:
            for n in range(8):
                if a in reach[n]:
                    reach[n] |= reach[b]
    expected = set()
    for n in range(8):
        part = frozenset(f"rlvr.m{m}" for m in range(8) if m in reach[n] and n in reach[m])
        if len(part) > 1:
            expected.add(part)
    assert cycles(imports) == expected


def test_type_only_imports_make_no_cycle():
    imports = [Import("rlvr.a", "rlvr.b", 1, "module", True), Import("rlvr.b", "rlvr.a", 2, "typing", True)]
    assert cycles(imports) == set()
    assert cycles(imports, ("module", "typing")) == {frozenset({"rlvr.a", "rlvr.b"})}
