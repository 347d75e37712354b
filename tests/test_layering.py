"""The package layering: generate/batch (mist.data) -> network -> quantiles -> estimator ->
evaluation. Evaluation sits on top: no product module imports mist.evaluate, and the lower
layers import nothing from above them (imports inside functions count too)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mist"

# layer -> the mist modules it may import (its own layer is always allowed)
ALLOWED = {
    "mist.data": set(),
    "mist.network": set(),
    "mist.checkpoint": {"mist.network", "mist.__version__"},
    "mist.train": {"mist.data", "mist.network", "mist.checkpoint", "mist.metrics", "mist.__version__"},
}
PRODUCT_FORBIDDEN = "mist.evaluate"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m == "mist" or m.startswith("mist.")}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_scan_sees_imports():
    """The checker itself: it finds a known import (so a silent parse bug cannot pass the rest)."""
    assert "mist.network.routed.RoutedMI" in _imports(PACKAGE / "checkpoint.py")
    assert any("mist.evaluate" in m for m in _imports(PACKAGE / "evaluate" / "harness.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_product_module_imports_evaluation(path):
    name = _module_name(path)
    if _within(name, PRODUCT_FORBIDDEN):
        return
    bad = sorted(m for m in _imports(path) if _within(m, PRODUCT_FORBIDDEN))
    assert not bad, f"{name} (product code) imports evaluation code: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lower_layers_do_not_import_upwards(path):
    name = _module_name(path)
    layer = next((lay for lay in ALLOWED if _within(name, lay)), None)
    if layer is None:
        return
    allowed = ALLOWED[layer] | {layer}
    bad = sorted(m for m in _imports(path) if m != "mist" and not any(_within(m, a) for a in allowed))
    assert not bad, f"{name} ({layer}) imports from above its layer: {sorted(bad)}"
