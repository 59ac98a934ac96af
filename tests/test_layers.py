"""The house rules that keep the package navigable: layers, one home per family, typed signatures.

``lint-imports`` checks the layers statically (pyproject.toml's contract, run by ``make test``);
these tests check what it cannot: that each layer imports and works on its own, in layer order, in
a fresh interpreter, without the top-level package importing everything first.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import rewardgym

PACKAGE = Path(rewardgym.__file__).parent

LAYERS = ["core", "shells", "envs", "rewardmodels", "epic", "wrappers", "agents", "sweeps", "cli"]
"""Lowest first, as in pyproject.toml (rewardmodels and epic are independent siblings)."""

_IMPORT_IN_ORDER = """
import importlib, json, sys, types
# An empty stand-in for the top-level package, so that importing a layer runs that layer's imports
# only (rewardgym/__init__.py imports every layer).
root = types.ModuleType("rewardgym")
root.__path__ = [{path!r}]
sys.modules["rewardgym"] = root
loaded = {{}}
for layer in {layers!r}:
    importlib.import_module("rewardgym." + layer)
    loaded[layer] = sorted({{m.split(".")[1] for m in sys.modules if m.startswith("rewardgym.")}})
print(json.dumps(loaded))
"""


def test_each_layer_imports_alone_in_layer_order_and_loads_nothing_above_it():
    script = _IMPORT_IN_ORDER.format(path=str(PACKAGE), layers=LAYERS)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for index, layer in enumerate(LAYERS):
        above = set(loaded[layer]) - set(LAYERS[: index + 1])
        assert not above, f"importing rewardgym.{layer} loaded higher layers: {sorted(above)}"
    # Siblings stay independent: the reward models do not load EPIC.
    assert "epic" not in loaded["rewardmodels"]


def _modules() -> list[tuple[str, Path]]:
    return sorted(
        (".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts), path) for path in PACKAGE.rglob("*.py")
    )


def test_no_module_writes_into_another_modules_kinds_table():
    """A regime kind is listed in its own family's KINDS table, never added from outside."""
    for module, path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute):
                    assert target.value.attr != "KINDS", f"{module}:{node.lineno} writes into another KINDS table"


def _is_protocol(cls: type) -> bool:
    return Protocol in getattr(cls, "__mro__", ()) or getattr(cls, "_is_protocol", False)


def test_every_public_function_has_a_typed_signature():
    """Every public function and method of the package annotates its parameters and its return."""
    untyped = []
    for info in pkgutil.walk_packages(rewardgym.__path__, "rewardgym."):
        module = importlib.import_module(info.name)
        functions = []
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                functions.append((name, obj))
            elif inspect.isclass(obj) and not _is_protocol(obj):
                functions += [
                    (f"{name}.{attr}", value)
                    for attr, value in vars(obj).items()
                    if inspect.isfunction(value) and (not attr.startswith("_") or attr == "__init__")
                ]
        for qualname, function in functions:
            signature = inspect.signature(function)
            params = [p for n, p in signature.parameters.items() if n not in ("self", "cls")]
            missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
            if not qualname.endswith("__init__") and signature.return_annotation is inspect.Signature.empty:
                missing.append("return")
            if missing:
                untyped.append(f"{module.__name__}.{qualname}: {', '.join(missing)}")
    assert not untyped, "untyped public signatures:\n" + "\n".join(untyped)
