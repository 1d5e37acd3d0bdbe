"""The package's shape, pinned by reading its imports (nothing is run): dependencies go one
way, down this order of layers, and an import inside a function says why on its line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "moderation"

# From the bottom. A module may import its own layer's modules and any lower layer's.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "config", "metrics", "spreadsheet", "types", "models"),  # shared values, errors, config
    ("photos", "text", "rules", "signals"),  # what looks at one item
    ("policy",),
    ("pipeline", "workers"),
    ("store",),
    ("auth", "webhooks", "banks", "review", "members"),
    ("moderate", "background"),  # the path of one item, the periodic jobs
    ("service",),  # the builder
    ("evaluation", "tuning", "api", "cli"),
)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        if "migrations" in rel.parts:
            continue
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    for k, names in enumerate(LAYERS):
        if top in names:
            return k
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines |= {n.lineno for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def _imports(module: str, path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported moderation module, inside a function) for each runtime import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    in_function = {n.lineno for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif node.level:
            base = module.split(".")[: len(module.split(".")) - node.level + (1 if path.name == "__init__.py" else 0)]
            targets = [".".join(base + ([node.module] if node.module else []))]
        else:
            targets = [node.module or ""]
        for target in targets:
            if target == "moderation" or target.startswith("moderation."):
                out.append((node.lineno, target, node.lineno in in_function))
    return out


def _resolve(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def test_every_module_belongs_to_a_layer() -> None:
    for module in MODULES:
        if module != "moderation":
            _layer(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "moderation"))
def test_imports_go_down_the_layers(module: str) -> None:
    mine = _layer(module)
    upward = []
    for line, target, _ in _imports(module, MODULES[module]):
        resolved = _resolve(target)
        if resolved and resolved != "moderation" and _layer(resolved) > mine:
            upward.append(f"{MODULES[module].name}:{line} imports {resolved} (layer {_layer(resolved)} > {mine})")
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    graph = {m: {r for _, t, _ in _imports(m, p) if (r := _resolve(t)) and r != m and not r.startswith(m + ".")
                 and not m.startswith(r + ".")} for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in graph.get(m, ()):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(n):] + [n]))
            if n not in state:
                visit(n, trail + [n])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [m])


def _explained(lines: list[str], k: int) -> bool:
    """A comment on the import's line, or above the block of imports it belongs to."""
    while k >= 0 and lines[k].lstrip().startswith(("import ", "from ")):
        if "#" in lines[k]:
            return True
        k -= 1
    return k >= 0 and lines[k].lstrip().startswith("#")


def test_imports_inside_functions_say_why() -> None:
    # Only heavy or optional dependencies are imported late, and the line says why.
    silent = []
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for f in ast.walk(tree):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for n in ast.walk(f):
                    if isinstance(n, (ast.Import, ast.ImportFrom)) and not _explained(lines, n.lineno - 1):
                        silent.append(f"{path.relative_to(PACKAGE.parent)}:{n.lineno}")
    assert not silent, "imports inside functions without a comment saying why:\n" + "\n".join(silent)
