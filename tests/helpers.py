"""Helpers for tests that run the workflow in a scratch copy of the repository."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# ADDT on the tiny run: two fine-tunes of a few steps, evaluated on 8 images (unit and workflow tests).
ADDT_OVERLAY = {
    "models": ["clean", "addt"],
    "finetune": {"steps": 3, "batch_size": 8},
    "evaluate": {
        "n_images": 8,
        "steps": 2,
        "eot_samples": 2,
        "batch_size": 4,
        "seeds": [0],
        "linf": {"epsilon": 0.2, "step": 0.05},
        "l2": {"epsilon": 0.5, "step": 0.1},
    },
}
# Two single-threaded jobs at a time: the tiny jobs are dominated by start-up, not compute.
FAST = "--cores 2 --max-threads 1 --resources gpu=2"


def snakemake(workdir: Path, *args: str) -> list[str]:
    """A snakemake command line running this repository's Snakefile in ``workdir``."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]


def environment() -> dict[str, str]:
    """The current environment with this interpreter's bin folder first on PATH (snakemake, dvc)."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(args: list[str], cwd: Path, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run a command in ``cwd`` and return the completed process (stdout and stderr captured)."""
    return subprocess.run(args, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout)


def scratch_repository(target: Path, config: Path = ROOT / ".test" / "config.yaml") -> Path:
    """A git repository at ``target`` holding this repository's tracked files (as the working tree has them; an
    output of an earlier run in this clone is never copied), with ``config`` as its config.yaml."""
    listed = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    shutil.copy(config, target / "config.yaml")
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "scratch"],
    ):
        subprocess.run(command, cwd=target, check=True, capture_output=True)
    return target


def digests(root: Path, folders: list[str]) -> dict[str, str]:
    """sha256 of every file under ``folders`` of ``root``, keyed by relative path."""
    out = {}
    for folder in folders:
        base = root / folder
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def dvc_round_trip(project: Path, workdir: Path, outputs: list[str], store: Path) -> None:
    """Push ``project``'s cache to a local remote ``store``, delete the cache and ``outputs`` (under
    ``workdir``), pull them back, and assert every file came back byte-identical."""
    assert run(["dvc", "remote", "add", "--local", "-d", "store", str(store)], project).returncode == 0
    pushed = run(["dvc", "push"], project)
    assert pushed.returncode == 0, pushed.stderr
    before = digests(workdir, outputs)
    shutil.rmtree(project / ".dvc" / "cache")
    for path in outputs:
        target = workdir / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    pulled = run(["dvc", "pull"], project)
    assert pulled.returncode == 0, pulled.stderr
    assert digests(workdir, outputs) == before


PACKAGE = ROOT / "src" / "diffrob"


def module_file(module: str) -> Path:
    """The source file of a diffrob module (``diffrob.purify.noise`` -> src/diffrob/purify/noise.py)."""
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def package_modules() -> list[str]:
    """Every module of the package, subpackages' ``__init__`` included, by dotted name."""
    names = [".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts) for p in sorted(PACKAGE.rglob("*.py"))]
    return [name.removesuffix(".__init__") for name in names]


def imported_modules(source: str) -> set[str]:
    """The diffrob modules a piece of Python imports, at the top level or inside functions
    (``from diffrob.paper import figures`` imports ``diffrob.paper.figures``)."""
    import ast

    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "diffrob":
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                modules.add(child if module_file(child).is_file() else node.module)
        elif isinstance(node, ast.Import):
            modules |= {a.name for a in node.names if a.name.split(".")[0] == "diffrob"}
    return modules


def workflow_imports(path: Path) -> str:
    """The ``import``/``from`` lines of a Snakefile or rule file (its rules are not Python), left-aligned."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return "\n".join(line for line in lines if line.startswith(("import ", "from ")))


def module_closure(paths: list[Path]) -> set[str]:
    """Every diffrob module the files import, directly or through other diffrob modules."""
    read = (workflow_imports(p) if p.suffix == ".smk" or p.name == "Snakefile" else p.read_text() for p in paths)
    todo = set().union(*map(imported_modules, read))
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo |= imported_modules(module_file(module).read_text())
    return seen


def code_dependency(module: str) -> str:
    """What a DVC stage lists for a diffrob module: its subpackage's folder, or a top-level module's file."""
    parts = module.split(".")
    if len(parts) == 1:
        return "src/diffrob/__init__.py"
    if (PACKAGE / parts[1]).is_dir():
        return f"src/diffrob/{parts[1]}"
    return f"src/diffrob/{parts[1]}.py"


def import_graph(level: int = 0) -> dict[str, set[str]]:
    """Which diffrob modules each module imports (``level`` 2: grouped by subpackage, ``diffrob.<name>``)."""

    def group(module: str) -> str:
        return ".".join(module.split(".")[:level]) if level else module

    graph: dict[str, set[str]] = {}
    for module in package_modules():
        imported = {group(m) for m in imported_modules(module_file(module).read_text())}
        graph.setdefault(group(module), set()).update(imported - {group(module)})
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def not_ignored(paths: list[str]) -> list[str]:
    """The repository-relative ``paths`` that this repository's .gitignore does not ignore (tracked or not)."""
    listed = "\n".join(paths) + "\n"
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input=listed, capture_output=True, text=True
    )
    assert result.returncode in (0, 1), result.stderr
    return sorted(set(paths) - set(result.stdout.splitlines()))
