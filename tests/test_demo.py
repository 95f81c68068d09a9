"""`sagan-hf demo` (what `make demo` runs): fixed steps, the package's CPU thread policy, progress with
an ETA, and a report by class name. The real demo's accuracy is measured in README.md, not here."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_hf.cpu_threads import (MAX_THREADS, THREADS_ENV, AdaptiveThreads, available_cores, fixed_cpu_threads,
                                  package_threads_for_block)
from sagan_hf.data.shapes import SHAPES_CLASSES
from sagan_hf.training.config import DEMO_STEPS, make_config


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_the_thread_policy_adapts_unless_the_environment_fixes_it(monkeypatch, restore_threads):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert fixed_cpu_threads() is None
    torch.set_num_threads(3)
    with package_threads_for_block() as threads:
        assert threads.adaptive == (available_cores() > 1) and threads.many == min(available_cores(), MAX_THREADS)
        assert torch.get_num_threads() == 1  # it starts on one thread, then measures the others
    assert torch.get_num_threads() == 3
    monkeypatch.setenv(THREADS_ENV, "2")
    with package_threads_for_block() as threads:
        assert not threads.adaptive and torch.get_num_threads() == 2
        for _ in range(50):
            threads.unit_done(1.0)
        assert threads.threads == 2 and threads.switches == 0 and threads.summary() == "2 threads throughout"
    assert torch.get_num_threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=rf"{THREADS_ENV} must be a positive integer \(CPU threads\), got '{bad}'"):
            fixed_cpu_threads()


class Machine:
    """A simulated 2-core machine: how long one unit of work takes on t threads, with a clock."""

    def __init__(self, one=0.45, two_idle=0.30, two_busy=1.2):
        self.now, self.busy, self.set_calls = 0.0, False, []
        self.seconds = {1: one, 2: (two_idle, two_busy)}

    def unit_seconds(self, threads: int) -> float:
        return self.seconds[1] if threads == 1 else self.seconds[2][self.busy]

    def run(self, policy: AdaptiveThreads, units: int) -> list[int]:
        used = []
        for _ in range(units):
            seconds = self.unit_seconds(policy.threads)
            used.append(policy.threads)
            self.now += seconds
            policy.unit_done(seconds)
        return used


def simulated(machine: Machine) -> AdaptiveThreads:
    return AdaptiveThreads(2, clock=lambda: machine.now, set_threads=machine.set_calls.append)


def test_adaptive_threads_use_both_cores_while_they_are_faster_and_one_when_another_job_takes_a_core():
    idle = Machine()
    policy = simulated(idle)
    used = idle.run(policy, 1300)
    assert used[:7] == [1] * 7 and used[7:14] == [2] * 7  # warm-up and a window on one thread, then on two
    assert used.count(2) / len(used) > 0.9, policy.summary()  # later tries of one thread are brief and rarer
    assert idle.set_calls[-1] == policy.threads == 2
    tries = [i for i in range(1, len(used)) if used[i] == 1 and used[i - 1] == 2]
    assert all(b - a >= a_gap for (a, b), a_gap in zip(zip(tries, tries[1:]), [40] * len(tries)))  # spaced out

    busy = Machine()
    busy.busy = True
    policy = simulated(busy)
    used = busy.run(policy, 1300)
    assert used.count(2) <= 2 + (busy.now // 20), policy.summary()  # each try of two stops after one slow unit
    assert policy.threads == 1 and used[-100:].count(1) >= 98
    # Overall close to one thread's speed: the tries cost little.
    assert busy.now < 1.05 * 1300 * busy.seconds[1]


def test_adaptive_threads_follow_the_machine_as_other_jobs_come_and_go():
    machine = Machine()
    policy = simulated(machine)
    machine.run(policy, 200)
    assert policy.threads == 2
    machine.busy = True
    used = machine.run(policy, 3)
    assert used[:2] == [2, 2] and policy.threads == 1  # two slow units, then one thread
    machine.run(policy, 100)
    assert policy.threads == 1
    machine.busy = False
    machine.run(policy, 200)  # the next try of two finds the cores free again
    assert policy.threads == 2


def test_the_demo_preset_trains_a_fixed_number_of_steps_without_a_time_budget():
    config = make_config("shapes-demo")
    assert config.max_train_steps == DEMO_STEPS and config.max_train_seconds is None


@pytest.mark.slow
def test_the_demo_trains_under_the_thread_policy_shows_an_eta_and_reports_by_class_name(tmp_path, capsys, monkeypatch,
                                                                                     restore_threads):
    from sagan_hf.cli.main import main

    monkeypatch.delenv(THREADS_ENV, raising=False)
    torch.set_num_threads(2)
    out_dir = tmp_path / "demo"
    assert main(["demo", "--output_dir", str(out_dir), "--steps", "4", "--samples_per_class", "4"]) == 0
    printed = capsys.readouterr().out
    many = min(available_cores(), MAX_THREADS)
    policy = f"1-{many} CPU threads, chosen by measured speed" if many > 1 else "1 CPU thread"
    assert f"sagan-hf demo: {policy} ({THREADS_ENV}=N fixes the count)" in printed
    assert "step 4/4 (100%):" in printed and " s left" in printed and " steps/s on 1 thread," in printed
    report = json.loads((out_dir / "report" / "report.json").read_text())
    assert report["training"]["global_step"] == 4 and report["training"]["hardware"].endswith("1 threads)")
    assert report["training"]["cpu_threads"].startswith("1 thread for 4 steps")
    assert "Trained 4 steps in" in printed and "(CPU threads: 1 thread for 4 steps" in printed
    assert list(report["class_accuracy_per_class"]) == list(SHAPES_CLASSES)
    for name in SHAPES_CLASSES:
        assert f"  {name:<9}" in printed

    named = np.asarray(Image.open(report["files"]["samples_by_class"]).convert("L"))
    assert named.shape[0] == 5 * 128  # one 128 px row (32 px samples, upscaled) per class
    margin = named.shape[1] - 8 * 128
    for row in range(5):  # each row's name is written in the white margin at its left
        label_area = named[row * 128:(row + 1) * 128, :margin]
        assert margin > 40 and (label_area < 100).sum() > 20, f"no label drawn for {SHAPES_CLASSES[row]}"


def test_a_bad_thread_setting_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    from sagan_hf.cli.main import main

    monkeypatch.setenv(THREADS_ENV, "all")
    assert main(["demo", "--output_dir", str(tmp_path / "demo"), "--steps", "1"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {THREADS_ENV} must be a positive integer (CPU threads), got 'all'"
    assert not (tmp_path / "demo").exists()
