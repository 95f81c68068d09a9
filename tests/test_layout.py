"""The layout's rules: imports point one way, the two remote-code files stand alone, one `sagan-hf`
command whose flags come from the option dataclasses."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sagan_hf"
SUBCOMMANDS = ("train", "sample", "evaluate", "reference-stats", "push", "convert", "demo")


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the sagan_hf modules a file imports (relative imports resolved)."""
    package = ["sagan_hf", *path.relative_to(PACKAGE).parent.parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] == "sagan_hf"}


@pytest.mark.parametrize("layer", ["data", "evaluation", "models", "pipelines", "visualization"])
def test_lower_layers_never_import_training_or_the_command_line(layer):
    for path in (PACKAGE / layer).rglob("*.py"):
        for name in imported_modules(path):
            assert not name.startswith(("sagan_hf.training", "sagan_hf.cli")), f"{path} imports {name}"


@pytest.mark.parametrize("path", ["models/modeling_sagan.py", "pipelines/pipeline_sagan.py"])
def test_the_remote_code_files_import_nothing_of_ours(path):
    source = (PACKAGE / path).read_text()
    tree = ast.parse(source)
    relative = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
    assert not relative, f"{path} has relative imports: diffusers fetches no second file for remote code"
    assert not imported_modules(PACKAGE / path)


def test_every_training_setting_is_a_flag_with_help():
    from sagan_hf.cli.train import build_parser
    from sagan_hf.training import TrainConfig

    actions = {action.dest: action for action in build_parser()._actions}
    for field in dataclasses.fields(TrainConfig):
        if field.name == "preset":
            assert "preset" in actions
            continue
        assert field.name in actions, f"TrainConfig.{field.name} has no flag"
        assert actions[field.name].help, f"--{field.name} has no help"


def test_help_and_argument_checks_of_train_sample_push_and_explore_import_neither_torch_nor_diffusers():
    # Seconds of imports that `--help` and a refused flag do not need; the classes load on first use.
    code = """
import sys
import sagan_hf, sagan_hf.cli.main, sagan_hf.cli.train, sagan_hf.cli.sample, sagan_hf.cli.push, sagan_hf.cli.explore
heavy = sorted(name for name in ("torch", "diffusers", "datasets", "accelerate") if name in sys.modules)
assert not heavy, heavy
from sagan_hf import SAGANPipeline  # imports the pipeline and, for diffusers' loader, the component modules
assert "sagan_hf.models.modeling_sagan" in sys.modules and "sagan_hf.models.generator" in sys.modules
print("ok", SAGANPipeline.__name__)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.startswith("ok SAGANPipeline"), result.stderr[-2000:]
    # Names that load on first use resolve to the objects, also once their modules are imported.
    import sagan_hf
    import sagan_hf.training.trainer
    from sagan_hf.data import DataOptions
    from sagan_hf.training import TrainConfig, train

    assert issubclass(TrainConfig, DataOptions) and train is sagan_hf.training.trainer.train
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        sagan_hf.Nope


def test_one_command_with_every_subcommand():
    result = subprocess.run([sys.executable, "-m", "sagan_hf.cli", "--help"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    for name in SUBCOMMANDS:
        assert name in result.stdout


def test_subcommand_help_and_a_bad_value_in_one_line():
    from sagan_hf.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "--help"])
    assert exit_info.value.code == 0
    # A check that fails before anything is loaded: one line, exit status 2, no traceback.
    result = subprocess.run(
        [sys.executable, "-m", "sagan_hf.cli", "sample", "--pipeline", "x", "--output_dir", "y", "--per_class", "0"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: per_class must be a positive integer, got 0"


def test_train_runs_as_a_module_for_accelerate_launch():
    result = subprocess.run([sys.executable, "-m", "sagan_hf.cli.train", "--help"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and "--preset" in result.stdout and "--dataset_name" in result.stdout
