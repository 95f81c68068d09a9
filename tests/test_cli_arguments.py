"""Every command checks its arguments before it starts: one `error:` line, exit status 2, nothing created.

In-process for the table of mistakes, then as real programs: `sagan-hf` in a subprocess, and the
trainer under `accelerate launch` with two processes (one line for the whole job, not one per rank).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hub_fixtures import tiny_pipeline

import sagan_hf
from sagan_hf.cli.main import main as sagan_hf_main
from sagan_hf.options import check_paths, option

SOURCE_ROOT = Path(sagan_hf.__file__).resolve().parents[1]  # the tree under test, installed or not


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """A folder with a file, a saved pipeline and an empty folder; returns name -> path."""
    root = tmp_path_factory.mktemp("cli")
    (root / "a_file").write_text("not a folder")
    tiny_pipeline(seed=1, with_discriminator=False).save_pretrained(root / "pipe")
    (root / "empty").mkdir()
    (root / "old_run" / "checkpoint-3").mkdir(parents=True)
    return {"root": root, "file": root / "a_file", "pipe": root / "pipe", "empty": root / "empty",
            "old_run": root / "old_run"}


# (argv with {root}, {file}, {pipe}, {empty} filled in; what the one line must say; a path that must not appear)
MISTAKES = [
    ("train --preset shapes-tiny --train_data_dir {root}/missing --output_dir {root}/t1",
     "train_data_dir '{root}/missing' does not exist", "t1"),
    ("train --preset shapes-tiny --train_data_dir {file} --output_dir {root}/t1", "is a file, not a folder", "t1"),
    ("train --preset shapes-tiny --output_dir {file}", "output_dir '{file}' is a file, not a folder", None),
    ("train --preset shapes-tiny --output_dir {file}/run", "cannot be created: {file} is a file", None),
    ("train --preset shapes-tiny --output_dir {root}/t2 --resume_from_checkpoint {root}/checkpoint-9",
     "is not a folder; give 'latest' or a checkpoint-<step> folder", "t2"),
    ("train --preset shapes-tiny --output_dir {old_run}", "already holds checkpoints of a run (up to checkpoint-3)",
     None),
    ("train --preset shapes-tiny --output_dir {root}/t3 --eval_steps 5 --eval_reference {root}/ref.npz",
     "eval_reference '{root}/ref.npz' does not exist", "t3"),
    ("train --preset shapes-tiny --output_dir {root}/t4 --cache_dir {file}", "cache_dir '{file}' is a file", "t4"),
    ("train --preset shapes-tiny --output_dir {root}/t5 --push_to_hub --hub_model_id not-a-repo-id",
     "Invalid repo id 'not-a-repo-id'", "t5"),
    ("train --preset imagenet128 --output_dir {root}/t6 --global_batch_size 9 --gradient_accumulation_steps 2",
     "global_batch_size=9 does not split evenly", "t6"),
    ("train --preset shapes-tiny --output_dir {root}/t7 --resolution 100", "sample_size must be a power of two", "t7"),
    ("train --preset shapes-tiny --output_dir {root}/t7 --ch 12 --attention_resolutions 16",
     "SAGANDiscriminator: attention at 16x16 needs a width divisible by 8, got 12 channels", "t7"),
    ("sample --pipeline {empty} --output_dir {root}/s1", "is not a saved pipeline folder (no model_index.json", "s1"),
    ("sample --pipeline {root}/no/such/folder --output_dir {root}/s1", "is not a Hub repo id", "s1"),
    ("sample --pipeline {pipe} --output_dir {file}", "output_dir '{file}' is a file", None),
    ("sample --pipeline {pipe} --output_dir {root}/s2 --classes 1,7", r"classes must lie in [0, 5)", "s2"),
    ("sample --pipeline {pipe} --output_dir {root}/s2 --class_names a,b --classes 3", "class 3 is drawn", "s2"),
    ("sample --pipeline {pipe} --output_dir {root}/s2 --device tpu:0", "device must be a device of this machine",
     "s2"),
    ("evaluate --pipeline {pipe} --reference {root}/ref.npz --output {root}/r.json",
     "reference '{root}/ref.npz' does not exist", "r.json"),
    ("evaluate --pipeline {pipe} --reference {file} --output {root}/r.json", "is not a readable npz", "r.json"),
    ("evaluate --pipeline {pipe} --metrics is --output {file}/r.json", "its folder {file} is a file", None),
    ("evaluate --pipeline {pipe} --metrics is --output {empty}", "is a folder; expected a file name", None),
    ("evaluate --pipeline {pipe} --metrics is --inception_weights {root}/pt_inception.pth --output {root}/r.json",
     "inception_weights '{root}/pt_inception.pth' does not exist", "r.json"),
    ("evaluate --pipeline {pipe} --metrics is --num_samples 1 --output {root}/r.json", "at least 2", "r.json"),
    ("reference-stats --resolution 32 --train_data_dir {root}/missing --output {root}/ref.npz",
     "train_data_dir '{root}/missing' does not exist", "ref.npz"),
    ("reference-stats --resolution 32 --output {file}/ref.npz", "its folder {file} is a file", None),
    ("push --pipeline {empty} --repo_id me/x --token t", "no model_index.json", None),
    ("push --pipeline {file} --repo_id me/x --token t", "is a file; expected a saved pipeline folder", None),
    ("convert biggan --weights_dir {root}/missing --output_dir {root}/c1", "weights_dir '{root}/missing' does not",
     "c1"),
    ("convert biggan --weights_dir {empty} --output_dir {file}", "output_dir '{file}' is a file", None),
    ("demo --no_train --output_dir {root}/d1", "holds none (no model_index.json)", "d1"),
]


def _fill(text: str, places: dict) -> str:
    return text.format(**{name: str(path) for name, path in places.items()})


@pytest.mark.parametrize("argv, message, not_created", MISTAKES, ids=[m[0].split(" --")[0] + f"-{i}" for i, m in
                                                                        enumerate(MISTAKES)])
def test_a_mistake_is_one_line_and_exit_status_2_before_anything_is_made(places, capsys, argv, message, not_created):
    before = sorted(p.name for p in places["root"].iterdir())
    status = sagan_hf_main(_fill(argv, places).split())
    captured = capsys.readouterr()
    lines = [line for line in (captured.err + captured.out).splitlines() if line.startswith("error:")]
    assert status == 2 and len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert _fill(message, places) in lines[0]
    assert sorted(p.name for p in places["root"].iterdir()) == before  # no output folder, file or cache
    assert not_created is None or not (places["root"] / not_created).exists()


def test_a_hub_repo_that_cannot_be_fetched_is_one_line(hub_server, tmp_path, capsys):
    out = tmp_path / "samples"
    assert sagan_hf_main(["sample", "--pipeline", "tester/no-such-repo", "--output_dir", str(out)]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "cannot load the pipeline 'tester/no-such-repo'" in lines[0], captured.err
    assert "Traceback" not in captured.err and not out.exists()


def test_path_checks_are_declared_with_the_options(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class Options:
        data: str | None = option(None, "input folder", path="existing_dir")
        out: str = option("out", "output file", path="output_file")

    check_paths(Options(data=str(tmp_path), out=str(tmp_path / "new" / "x.json")))  # a folder still to be made
    check_paths(Options(data=None, out=str(tmp_path / "x.json")))  # unset paths are not checked
    with pytest.raises(ValueError, match=r"data '.*nope' does not exist"):
        check_paths(Options(data=str(tmp_path / "nope")))
    with pytest.raises(ValueError, match="unknown path check"):
        option(None, "x", path="exists")


def _environment(**extra) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_ROOT), env.get("PYTHONPATH")]))
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "SAGAN_HF_TRACEBACK"):
        env.pop(name, None)
    return env | extra


@pytest.mark.slow
def test_sagan_hf_as_a_program_prints_one_line_and_exits_2(tmp_path):
    command = [sys.executable, "-m", "sagan_hf.cli", "train", "--preset", "shapes-tiny",
               "--train_data_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "run")]
    result = subprocess.run(command, env=_environment(), capture_output=True, text=True, timeout=180)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: train_data_dir '{tmp_path / 'missing'}' does not exist\n"
    assert result.stdout == "" and not (tmp_path / "run").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_under_accelerate_launch_two_ranks_report_one_line(tmp_path):
    """Both ranks refuse the argument; only the first prints. The launcher adds its own failure summary
    (accelerate raises ChildFailedError and exits 1 whatever the workers' status): that summary names
    the workers' exit status 2, and no traceback comes from sagan-hf."""
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()), "-m", "sagan_hf.cli.train", "--preset", "shapes-tiny",
        "--train_data_dir", str(tmp_path / "missing"), "--output_dir", str(tmp_path / "run"),
    ]
    result = subprocess.run(command, env=_environment(ACCELERATE_USE_CPU="1"), capture_output=True, text=True,
                            timeout=300)
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert lines == [f"error: train_data_dir '{tmp_path / 'missing'}' does not exist"], output[-4000:]
    assert result.returncode != 0 and re.search(r"exitcode\s*:\s*2\b", output), output[-4000:]
    assert "sagan_hf" not in "".join(line for line in output.splitlines() if line.strip().startswith("File "))
    assert not (tmp_path / "run").exists()
