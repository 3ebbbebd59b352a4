"""The package's import graph, read from the source (module-level imports only), for the tests of
layering and of dvc.yaml's dependencies.

`python -m tests.import_graph` rewrites every stage's `deps` in dvc.yaml from this graph (the
source and config files first, then the stage's data deps as they were), so a moved or new module
needs no hand-kept list; tests/test_package.py checks the result."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "pipeline"
# Layers, lowest first: a module may import its own layer or lower ones only.
LAYERS = ["core", "data", "models", "inference", "evaluation", "training", "api", "commands", "stages"]
# Shared by the stage scripts, but not a stage (nothing else imports a stage script).
STAGE_HELPERS = {"pipeline.stages.common"}
# Config files, and the functions whose call means a module reads them.
CONFIG_READERS = {"configs/labels.yaml": {"label_sets"}, "configs/actors.yaml": {"load_actors"}}
# Modules loaded by name at run time (pipeline/models/__init__.py's registry) on the CPU, by the
# stages that load a saved model by its type (the `unseen` stage always scores there).
REGISTRY = {"pipeline.models.baseline", "pipeline.models.transformer_onnx"}
LOADING_STAGES = {"pipeline.stages.evaluate_unseen"}


def module_path(root: Path, module: str) -> Path:
    base = root / Path(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def modules(root: Path) -> list[str]:
    out = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    return parts[1] if parts[1] in LAYERS else "inference"


def is_stage_script(module: str) -> bool:
    return module.startswith(f"{PACKAGE}.stages.") and module not in STAGE_HELPERS


def parents(module: str) -> list[str]:
    """The packages whose __init__ runs when `module` is imported."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def direct_imports(root: Path, module: str, all_modules: set[str], with_packages: bool = True) -> set[str]:
    """Project modules imported at module level (plus, by default, the packages they sit in,
    whose __init__ runs first)."""
    tree = ast.parse(module_path(root, module).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name in all_modules:
                found |= {name, *(parents(name) if with_packages else [])}
    return found - {module}


def function_imports(root: Path, module: str) -> list[str]:
    """Project modules imported inside a function or class (not at module level)."""
    tree = ast.parse(module_path(root, module).read_text(encoding="utf-8"))
    out = []
    for top in tree.body:
        if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for node in ast.walk(top):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
                    out.append(node.module)
                elif isinstance(node, ast.Import):
                    out += [a.name for a in node.names if a.name.startswith(PACKAGE)]
    return out


def graph(root: Path) -> dict[str, set[str]]:
    names = set(modules(root))
    return {m: direct_imports(root, m, names) | set(parents(m)) for m in names}


def explicit_graph(root: Path) -> dict[str, set[str]]:
    """Only the imports written in each module: the graph in which to look for cycles."""
    names = set(modules(root))
    return {m: direct_imports(root, m, names, with_packages=False) for m in names}


def closure(g: dict[str, set[str]], start: set[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(g[module])
    return seen


def config_files(root: Path, mods: set[str]) -> set[str]:
    """Config files read by any of `mods`: those that call a reader in CONFIG_READERS."""
    out = set()
    for module in mods:
        tree = ast.parse(module_path(root, module).read_text(encoding="utf-8"))
        names = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        out |= {path for path, readers in CONFIG_READERS.items() if names & readers}
    return out


def stage_deps(root: Path, g: dict[str, set[str]], module: str) -> set[str]:
    """Every source and config file a stage running `module` reads (with the registry's modules where
    the stage loads a saved model by its type: pipeline/models/__init__.py)."""
    start = {module} | (REGISTRY if module in LOADING_STAGES else set())
    mods = closure(g, start)
    return {str(module_path(root, m).relative_to(root)) for m in mods} | config_files(root, mods)


def rewrite_dvc_deps(root: Path) -> None:
    """dvc.yaml with every stage's source and config deps regenerated (kept: comments elsewhere,
    the order of the stages, each stage's other deps after the generated ones)."""
    import yaml

    path = root / "dvc.yaml"
    text, g = path.read_text(encoding="utf-8"), graph(root)
    stages = yaml.safe_load(text)["stages"]
    lines, out, i = text.splitlines(), [], 0
    current = None
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if line.startswith("  ") and not line.startswith("   ") and stripped.endswith(":"):
            current = stripped[:-1]
        if stripped == "deps:" and current in stages:
            indent = line[: len(line) - len(line.lstrip())] + "  "
            out.append(line)
            i += 1
            kept = []
            while i < len(lines) and lines[i].startswith(indent + "- "):
                dep = lines[i].strip()[2:]
                if not dep.startswith(("pipeline/", "configs/")):
                    kept.append(dep)
                i += 1
            body = stages[current].get("do", stages[current])
            module = body["cmd"].split("python -m ")[1].split()[0]
            out += [f"{indent}- {d}" for d in sorted(stage_deps(root, g, module))] + [f"{indent}- {d}" for d in kept]
            continue
        out.append(line)
        i += 1
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    rewrite_dvc_deps(Path(__file__).resolve().parents[1])
