"""Prints, as JSON, every import cycle among the project's packages on sys.path (run by
tests/contract/test_layers.py in a fresh interpreter)."""

from __future__ import annotations

import json

import grimp

PACKAGES = ("shared", "bot", "functions", "emulators", "bench", "tools", "tests")


def import_cycles() -> list[list[str]]:
    """Every group of modules that import one another, directly or not (Tarjan's strongly connected
    components over grimp's graph). Imports under TYPE_CHECKING and inside functions count too."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


if __name__ == "__main__":
    print(json.dumps(import_cycles()))
