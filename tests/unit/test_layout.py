"""The package's layout is its architecture: subpackages along the flow, small modules, no import cycle."""

import ast

import pytest

from tests.helpers import PACKAGE, import_cycles, import_graph, module_file, package_modules

MAX_LINES = 400
SUBPACKAGES = ["models", "purify", "attack", "measure", "stats", "addt", "paper", "workflow"]
MEASUREMENT_LAYERS = ["diffrob.data", "diffrob.models", "diffrob.purify", "diffrob.attack", "diffrob.measure",
                      "diffrob.stats", "diffrob.addt"]  # fmt: skip


def test_the_package_reads_as_the_flow():
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert [e for e in entries if (PACKAGE / e).is_dir()] == sorted(SUBPACKAGES)
    assert len(entries) <= 15, entries


@pytest.mark.parametrize("module", package_modules())
def test_no_module_is_over_400_lines(module):
    assert len(module_file(module).read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_a_subpackage_init_holds_only_its_docstring(package):
    body = ast.parse((PACKAGE / package / "__init__.py").read_text()).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)


@pytest.mark.parametrize("level", [0, 2], ids=["modules", "subpackages"])
def test_no_import_cycle(level):
    assert import_cycles(import_graph(level)) == []


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["e", "e2"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("layer", MEASUREMENT_LAYERS)
def test_the_measurement_layers_import_nothing_of_the_paper(layer):
    imported = import_graph(2)[layer]
    assert "diffrob.paper" not in imported and "diffrob.workflow" not in imported


def test_the_layer_check_sees_an_import_between_subpackages():
    graph = import_graph(2)
    assert "diffrob.stats" in graph["diffrob.paper"] and "diffrob.paper" in graph["diffrob.workflow"]


RANDOM_CALLS = {"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "manual_seed", "Generator",
                "normal", "bernoulli", "multinomial", "default_rng", "seed"}  # fmt: skip


def random_draws(source: str) -> list[str]:
    """Calls in ``source`` that draw or seed randomness directly: ``torch.<f>``/``np.random.<f>``, a tensor's
    in-place ``normal_``/``uniform_``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name, owner = node.func.attr, ast.unparse(node.func.value)
            if (owner in ("torch", "np.random", "numpy.random", "torch.random") and name in RANDOM_CALLS) or name in (
                "normal_",
                "uniform_",
            ):
                found.append(f"{owner}.{name}")
    return found


@pytest.mark.parametrize("module", [m for m in package_modules() if m != "diffrob.purify.noise"])
def test_every_random_draw_goes_through_the_noise_module(module):
    assert random_draws(module_file(module).read_text()) == []


def test_the_draw_check_sees_a_direct_draw():
    source = "import torch\nx = torch.randn(3, generator=g)\ntorch.manual_seed(0)\nw.normal_()\ny = torch.zeros(2)"
    assert random_draws(source) == ["torch.randn", "torch.manual_seed", "w.normal_"]
