"""Every ```python block of docs/recipes.md runs (each in a fresh namespace, in a temporary folder)."""

import re
from pathlib import Path

import matplotlib
import pytest

pytestmark = pytest.mark.usefixtures("one_thread")

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"
OPTIONAL = ("pandas", "sklearn")  # extras: a recipe that imports one is skipped without it


def _recipes() -> list[tuple[str, str]]:
    """[(id from the heading above the block, code)] of the page's python blocks."""
    text, out = RECIPES.read_text(), []
    for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        heading = re.findall(r"^## (.+)$", text[:m.start()], flags=re.M)[-1]
        out.append((re.sub(r"\W+", "-", heading.lower()).strip("-"), m.group(1)))
    return out


RECIPE_BLOCKS = _recipes()


def test_recipes_found():
    assert len(RECIPE_BLOCKS) >= 6


@pytest.mark.parametrize("code", [c for _, c in RECIPE_BLOCKS], ids=[i for i, _ in RECIPE_BLOCKS])
def test_recipe_runs(code, tmp_path, monkeypatch):
    for module in OPTIONAL:
        if re.search(rf"^\s*(import|from) {module}\b", code, flags=re.M):
            pytest.importorskip(module)
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, RECIPES.name, "exec"), {"__name__": "__recipe__"})
