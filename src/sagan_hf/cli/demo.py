"""`sagan-hf demo`: train a small SAGAN on the built-in shapes set, then score and picture it.

The first of the README's two commands (`make demo`) runs this. It trains a fixed number of steps
(preset shapes-demo) under the package's CPU thread policy (`sagan_hf.cpu_threads`: all cores while
they are faster, one thread as soon as another job makes them slower), so a busier machine takes
longer but learns the same. The report part alone is `sagan-hf demo --no_train` (or `scripts/demo_report.py`).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..options import check_options, check_paths, option
from ..training.callbacks import TrainCallback
from .arguments import add_dataclass_arguments, dataclass_from_args
from .errors import command_main

DESCRIPTION = ("Train a small SAGAN on the built-in shapes set (preset shapes-demo: a fixed number of steps, 5-10 "
               "minutes on 2 CPU cores), then write sample grids per class, attention maps and the "
               "class-accuracy report.")


@dataclass(kw_only=True)
class DemoOptions:
    output_dir: str = option("runs/shapes-demo", "the training run folder; the report goes to OUTPUT_DIR/report",
                             path="output_dir")
    train: bool = option(True, "train first (--no_train: only the report, of the pipeline in output_dir)")
    steps: int | None = option(None, "training steps (default: the shapes-demo preset's)", check="positive_or_none")
    samples_per_class: int = option(200, "generated images per class for the class accuracy", check="positive")
    seed: int = option(0, "seed of the report's samples", check="non_negative")

    def __post_init__(self):
        check_options(self)


class ThreadsPerStep(TrainCallback):
    """Feeds the duration of every training iteration to the adaptive thread policy."""

    def __init__(self, threads):
        self.threads, self.last = threads, None

    def on_batches(self, batches, step: int) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.threads.unit_done(now - self.last)
        self.last = now

    def on_train_end(self, **_) -> None:
        if self.last is not None:  # the last step (its time includes the final checkpoint)
            self.threads.unit_done(time.perf_counter() - self.last)
            self.last = None


class ProgressLines(TrainCallback):
    """About ten lines per run, `step n/N (p%): r steps/s on t thread(s), about m min s s left`, for logs
    without a terminal (tqdm's bar shows the rate on a terminal). The rate is measured since the first step."""

    def __init__(self, total_steps: int, lines: int = 10, stream=None, threads=None):
        self.total, self.every = total_steps, max(1, total_steps // lines)
        self.stream = stream or sys.stdout
        self.threads = threads
        self.start_step = self.start_time = None

    def on_batches(self, batches, step: int) -> None:
        if self.start_time is None:
            self.start_step, self.start_time = step, time.perf_counter()
        elif (step - 1) % self.every == 0:  # step - 1 steps are done
            self._line(step - 1)

    def on_train_end(self, *, global_step: int, **_) -> None:
        if self.start_time is not None:
            self._line(global_step)

    def _line(self, done: int) -> None:
        rate = (done - self.start_step + 1) / max(time.perf_counter() - self.start_time, 1e-9)
        left = (self.total - done) / rate
        # tqdm.write keeps the line clear of the trainer's progress bar on a terminal
        on = "" if self.threads is None else f" on {self.threads.threads} thread{'s' if self.threads.threads > 1 else ''}"
        tqdm.write(f"step {done}/{self.total} ({done / self.total:.0%}): {rate:.1f} steps/s{on}, about "
                   f"{int(left // 60)} min {int(left % 60):02d} s left", file=self.stream)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="sagan-hf demo")
    parser.description = DESCRIPTION
    add_dataclass_arguments(parser, DemoOptions)
    return parser


def report(pipeline_dir: str, output_dir: str, samples_per_class: int, seed: int,
           training_notes: dict | None = None) -> dict:
    from ..demo_report import format_report, run_demo_report

    result = run_demo_report(pipeline_dir, output_dir, samples_per_class=samples_per_class, seed=seed,
                             training_notes=training_notes)
    print(format_report(result))
    return result


def run(args: argparse.Namespace) -> int:
    from ..cpu_threads import THREADS_ENV, describe_policy, package_threads

    options = dataclass_from_args(DemoOptions, args)
    check_paths(options)
    if not options.train and not (Path(options.output_dir) / "model_index.json").is_file():
        raise ValueError(f"--no_train reports on the pipeline in output_dir, but {options.output_dir} holds none "
                         "(no model_index.json): train first")
    threads = package_threads()
    print(f"sagan-hf demo: {describe_policy(threads)} ({THREADS_ENV}=N fixes the count)")
    notes = None
    if options.train:
        import logging

        from ..training import make_config, train

        overrides = {} if options.steps is None else {"max_train_steps": options.steps}
        config = make_config("shapes-demo", output_dir=options.output_dir, **overrides)
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
        result = train(config, callbacks=[ThreadsPerStep(threads), ProgressLines(config.max_train_steps,
                                                                                  threads=threads)])
        notes = {"cpu_threads": threads.summary(unit="steps")}
        print(f"trained {result.global_step} steps in {result.train_time_seconds:.0f} s; scoring the samples ...",
              flush=True)
    report(options.output_dir, str(Path(options.output_dir) / "report"), options.samples_per_class, options.seed,
           training_notes=notes)
    return 0


main = command_main(build_parser, run)


if __name__ == "__main__":
    sys.exit(main())
