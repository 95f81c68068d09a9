"""The SAGAN training loop over Accelerate, readable top to bottom: `train(config)`.

One process per device (`accelerate launch`); each process reads its own shard of the data stream
(the DataLoader is NOT prepared), the nets and optimisers are prepared (DDP when several processes),
and the loop is step-based over an endless iterator. The run holds output_dir's lock
(`run_lock.py`); a stop signal or the launcher's death ends it after a checkpoint of the current step
(`graceful_stop.py`). See docs/training.md.
"""

from __future__ import annotations

import itertools
import json
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration, set_seed
from tqdm.auto import tqdm

from ..data import ImageBatchStream
from ..models import SAGANDiscriminator, SAGANGenerator
from . import checkpointing
from .agreement import decide_on_main
from .assembly import assemble_training
from .callbacks import TrainCallback
from .config import TrainConfig, resolve_train_batch_size
from .disk_full import is_disk_full, watch_writes
from .errors import CheckpointWriteError, NonFiniteTrainingError
from .graceful_stop import StopRequest, signal_name, started_by_a_launcher
from .pipeline_export import build_pipeline, save_pipeline
from .trackers import resolve_trackers, tracker_init_kwargs
from ..visualization import fixed_validation_inputs, render_validation_grid
from .run_lock import RunLock
from .validation_images import save_and_log_grid

logger = logging.getLogger(__name__)

__all__ = ["NonFiniteTrainingError", "TrainResult", "train"]


@dataclass
class TrainState:
    """Loop counters saved in every checkpoint (registered with the Accelerator)."""

    global_step: int = 0
    train_time_seconds: float = 0.0

    def state_dict(self) -> dict:
        return {"global_step": self.global_step, "train_time_seconds": self.train_time_seconds}

    def load_state_dict(self, state: dict) -> None:
        self.global_step = int(state["global_step"])
        self.train_time_seconds = float(state["train_time_seconds"])


@dataclass
class TrainResult:
    """What `train` returns (on every rank)."""

    global_step: int
    train_time_seconds: float
    output_dir: str
    stopped_by_time_budget: bool
    stopped_by_signal: str | None = None  # e.g. "SIGTERM": stopped early after a checkpoint of `global_step`
    stop_reason: str | None = None  # e.g. "received SIGTERM", "the launcher (pid 41) exited"
    exit_status: int = 0  # what the command exits with: 0, or 128 + the signal number


def build_models(config: TrainConfig, num_classes: int) -> tuple[SAGANGenerator, SAGANDiscriminator]:
    """Fresh generator and discriminator for this config."""
    generator = SAGANGenerator(
        sample_size=config.resolution, num_classes=num_classes, z_dim=config.z_dim, ch=config.ch,
        attention_resolutions=config.g_attention_resolutions, init=config.init,
    )
    discriminator = SAGANDiscriminator(
        sample_size=config.resolution, num_classes=num_classes, ch=config.ch,
        attention_resolutions=config.d_attention_resolutions, init=config.init,
    )
    return generator, discriminator


def make_accelerator(config: TrainConfig) -> Accelerator:
    """The Accelerator of a run: mixed precision, trackers, project folder, optional torch.compile."""
    kwargs = {}
    if config.compile:
        from accelerate.utils import TorchDynamoPlugin

        kwargs["dynamo_plugin"] = TorchDynamoPlugin(backend=config.compile_backend)
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        log_with=resolve_trackers(config.report_to),  # a missing tracker package stops here
        project_config=ProjectConfiguration(project_dir=config.output_dir, logging_dir=str(Path(config.output_dir) / "logs")),
        **kwargs,
    )
    if accelerator.mixed_precision == "fp16":  # picked up from `accelerate config` or the environment
        raise ValueError(
            "fp16 mixed precision is not supported: Accelerate shares one gradient scaler between the two "
            "optimisers. Use --mixed_precision bf16 (no scaler needed) or 'no'."
        )
    return accelerator


def _hparams(config: TrainConfig) -> dict:
    # Trackers take scalars and strings only.
    return {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in config.to_dict().items()}


def _hardware(accelerator: Accelerator) -> str:
    if accelerator.device.type == "cuda":
        return torch.cuda.get_device_name(accelerator.device)
    return f"{accelerator.device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _attention_gammas(generator, discriminator) -> dict[str, float]:
    values = {}
    for net, model in (("G", generator), ("D", discriminator)):
        for resolution, layer in model.attentions.items():
            values[f"gamma/{net}_{resolution}"] = float(layer.gamma.detach())
    return values


def train(config: TrainConfig, callbacks: Sequence[TrainCallback] = ()) -> TrainResult:
    """Train a SAGAN as `config` says; returns the final step (the same on every rank).

    `callbacks` see every step's batches and the end of the run on each rank (`TrainCallback`).
    SIGTERM, SIGUSR1 and SIGINT end the run early after a checkpoint (`TrainResult.stopped_by_signal`);
    a second SIGINT raises KeyboardInterrupt at once.
    """
    accelerator = make_accelerator(config)
    batch_size = resolve_train_batch_size(config, accelerator.num_processes)
    lock = RunLock(config.output_dir)

    def claim_output_dir() -> None:
        if config.push_to_hub:  # fail before training, not after it, when no token is there
            from ..hub import resolve_token

            resolve_token()
        lock.acquire()  # before anything in the folder is touched: another run may be using it
        checkpointing.remove_stale_temporaries(config.output_dir)

    decide_on_main(accelerator, claim_output_dir)
    try:
        with StopRequest(watch_parent=started_by_a_launcher()) as stop:
            return _train(config, callbacks, accelerator, batch_size, stop)
    finally:
        lock.release()


def _train(
    config: TrainConfig, callbacks: Sequence[TrainCallback], accelerator: Accelerator, batch_size: int,
    stop: StopRequest,
) -> TrainResult:
    output_dir = Path(config.output_dir)
    is_main, rank, world = accelerator.is_main_process, accelerator.process_index, accelerator.num_processes
    images_per_step = batch_size * config.gradient_accumulation_steps * config.n_dis * world

    # -- data: every rank streams its own shard; the DataLoader stays out of accelerator.prepare --------
    stream = ImageBatchStream(
        config, resolution=config.resolution, batch_size=batch_size, seed=config.seed, rank=rank, world_size=world
    )
    num_classes = stream.num_classes

    # -- models: the same initial weights on every rank, then per-rank randomness for z and labels -------
    set_seed(config.seed)
    generator, discriminator = build_models(config, num_classes)
    set_seed(config.seed, device_specific=True)
    prepared = assemble_training(accelerator, config, generator, discriminator, num_classes)
    generator, discriminator, ema, train_step = prepared.generator, prepared.discriminator, prepared.ema, prepared.step
    optimizer_g, optimizer_d = prepared.optimizer_g, prepared.optimizer_d
    state = TrainState()
    accelerator.register_for_checkpointing(ema, state)
    unwrapped_g = accelerator.unwrap_model(generator, keep_torch_compile=False)
    unwrapped_d = accelerator.unwrap_model(discriminator, keep_torch_compile=False)

    # -- resume: data position first, then the iterator, then model/optimiser/RNG state ----------------
    resume_from = decide_on_main(
        accelerator, lambda: checkpointing.resolve_checkpoint(output_dir, config.resume_from_checkpoint)
    )
    if resume_from is not None:
        data_states = checkpointing.load_data_states(resume_from)
        if data_states:
            stream.resume_from_states(data_states)
        checkpointing.check_rng_state(resume_from, rank, saved_by=len(data_states) or world)
    data_iter = iter(stream)
    # Starting the DataLoader draws from the global RNG; keep that draw out of it so that a resumed run
    # and an uninterrupted one share the same random stream from the restored state on.
    with torch.random.fork_rng(devices=[]):
        data_iter = itertools.chain([next(data_iter)], data_iter)
    if resume_from is not None:
        accelerator.load_state(str(resume_from))
        logger.info("resumed from %s at step %d", resume_from, state.global_step)

    accelerator.init_trackers("sagan", config=_hparams(config), init_kwargs=tracker_init_kwargs(output_dir))
    fixed_z, fixed_labels, grid_rows, grid_cols = fixed_validation_inputs(
        num_classes, config.z_dim, config.validation_images_per_class, config.validation_max_classes, config.seed
    )
    evaluator = None
    if config.eval_steps and is_main:
        from .periodic_eval import PeriodicEvaluator

        evaluator = PeriodicEvaluator(
            reference=config.eval_reference, num_samples=config.eval_num_samples, batch_size=config.eval_batch_size,
            seed=config.seed, inception_weights=config.inception_weights, output_dir=output_dir,
            device=accelerator.device,
        )
    if is_main:
        logger.info(
            "training %s: %d classes, %d process(es) x batch %d x %d accumulation, n_dis %d, G %.2fM / D %.2fM params",
            config.preset or "custom", num_classes, world, batch_size, config.gradient_accumulation_steps,
            config.n_dis, sum(p.numel() for p in unwrapped_g.parameters()) / 1e6,
            sum(p.numel() for p in unwrapped_d.parameters()) / 1e6,
        )

    def write_train_config() -> None:
        if is_main:
            record = config.to_dict() | {
                "global_step": state.global_step, "train_time_seconds": round(state.train_time_seconds, 3),
                "hardware": _hardware(accelerator), "num_processes": world, "per_process_batch_size": batch_size,
                "images_per_step": images_per_step, "num_classes": num_classes, "class_names": stream.class_names,
                "torch_version": torch.__version__,
                # what the speed settings resolved to on this device, batch and resolution
                "attention_implementation": prepared.attention_implementation,
                "attention_implementation_requested": config.attention_implementation,
                "channels_last": prepared.channels_last, "channels_last_requested": config.channels_last,
            }
            (output_dir / "train_config.json").write_text(json.dumps(record, indent=2), encoding="utf-8")

    def publish_pipeline() -> None:
        """The EMA pipeline and train_config.json in output_dir (main process); a full disk is one line."""
        with watch_writes() as watch:
            try:
                pipeline = build_pipeline(ema.model, unwrapped_d, stream.class_names)
                save_pipeline(pipeline, output_dir)
                watch.writing(output_dir / "train_config.json")
                write_train_config()
            except Exception as error:
                if not is_disk_full(error, output_dir):
                    raise
                checkpointing.remove_stale_temporaries(output_dir)  # the old pipeline stays whole
                raise CheckpointWriteError(
                    checkpointing.disk_full_message(output_dir, watch.current, output_dir)
                ) from None
        if config.push_to_hub and config.hub_push_every_checkpoint:
            push_to_hub(pipeline, f"step {state.global_step}")

    def save_everything() -> None:
        """Checkpoint (all ranks) and the EMA pipeline in output_dir (main)."""
        checkpointing.save_checkpoint(
            accelerator, output_dir, state.global_step, stream.state_dict(), config.checkpoints_total_limit
        )
        decide_on_main(accelerator, publish_pipeline)

    def push_to_hub(pipeline, message: str) -> None:
        from ..hub import push_pipeline_to_hub

        push_pipeline_to_hub(
            pipeline, config.hub_model_id, private=config.hub_private,
            eval_report=evaluator.last_report if evaluator else None,
            train_config=json.loads((output_dir / "train_config.json").read_text()), commit_message=message,
        )

    def check_nonfinite() -> None:
        skipped, longest = train_step.read_and_reset_nonfinite()
        if longest >= config.max_nonfinite_steps:
            latest = checkpointing.list_checkpoints(output_dir)
            raise NonFiniteTrainingError(
                f"step {state.global_step}: {longest} steps in a row had a NaN/inf loss or gradient (limit "
                f"max_nonfinite_steps={config.max_nonfinite_steps}); stopping. The last good checkpoint is "
                f"{latest[-1][1] if latest else 'none (no checkpoint was written yet)'}; try a lower learning rate "
                "or mixed_precision 'no'"
            )
        if skipped and is_main:
            logger.warning(
                "step %d: %d step(s) since the last check had a NaN/inf loss or gradient; their updates were skipped",
                state.global_step, skipped,
            )

    # -- the loop ---------------------------------------------------------------------------------------
    progress = tqdm(total=config.max_train_steps, initial=state.global_step, desc="steps", disable=not is_main)
    metric_sums: dict[str, torch.Tensor] = {}
    steps_in_window, window_start = 0, time.perf_counter()
    session_start, time_at_start = time.perf_counter(), state.train_time_seconds
    resumed_here = resume_from is not None and resume_from.resolve().parent == output_dir.resolve()
    last_saved_step = state.global_step if resumed_here else -1  # a checkpoint of this step is already here
    stopped_by_time = stopping = False
    generator.train()
    discriminator.train()
    while state.global_step < config.max_train_steps:
        batches = [next(data_iter) for _ in range(config.n_dis * config.gradient_accumulation_steps)]
        for callback in callbacks:
            callback.on_batches(batches, state.global_step + 1)
        metrics = train_step(batches, state.global_step + 1)
        state.global_step += 1
        state.train_time_seconds = time_at_start + time.perf_counter() - session_start
        steps_in_window += 1
        for name, value in metrics.items():
            metric_sums[name] = metric_sums.get(name, 0.0) + value
        progress.update(1)
        step = state.global_step

        # Host syncs happen here only: logging, the non-finite check and the time budget, every logging_steps;
        # and the stop-request agreement of several ranks every STOP_CHECK_STEPS (graceful_stop.py).
        log_step = step % config.logging_steps == 0 or step == config.max_train_steps
        if log_step:
            names = sorted(metric_sums)
            values = torch.stack([metric_sums[n] / steps_in_window for n in names])
            budget_spent = config.max_train_seconds is not None and state.train_time_seconds >= config.max_train_seconds
            extra = torch.tensor([float(stream.skipped_images), float(budget_spent)], device=accelerator.device)
            if world > 1:
                values = accelerator.reduce(values, reduction="mean")
                extra = accelerator.reduce(extra, reduction="sum")
            elapsed = time.perf_counter() - window_start
            logs = dict(zip(names, values.tolist()))
            logs.pop("skipped", None)
            logs |= _attention_gammas(unwrapped_g, unwrapped_d)
            logs |= {
                "lr/G": optimizer_g.param_groups[0]["lr"], "lr/D": optimizer_d.param_groups[0]["lr"],
                "images_per_second": steps_in_window * images_per_step / elapsed, "skipped_images": extra[0].item(),
            }
            accelerator.log(logs, step=step)
            progress.set_postfix(
                img_s=f"{logs['images_per_second']:.0f}", d_loss=f"{logs['d_loss']:.3f}", g_loss=f"{logs['g_loss']:.3f}"
            )
            metric_sums, steps_in_window, window_start = {}, 0, time.perf_counter()
            check_nonfinite()
            stopped_by_time = extra[1].item() > 0
        elif config.max_train_seconds is not None and world == 1:
            stopped_by_time = state.train_time_seconds >= config.max_train_seconds

        stopping = stop.agreed(accelerator, step, at_sync_point=log_step)
        if stopping:  # pre-empted: the checkpoint comes first, the rest can wait for the resumed run
            if is_main:
                logger.warning("%s: stopping after step %d, writing a checkpoint of it", stop.reason, step)
            if last_saved_step != step:
                check_nonfinite()
                save_everything()
                last_saved_step = step
            break
        if is_main and step % config.validation_steps == 0:
            grid = render_validation_grid(ema.model, fixed_z, fixed_labels, grid_rows, grid_cols)
            save_and_log_grid(grid, output_dir, step, accelerator)
        if evaluator is not None and step % config.eval_steps == 0:
            accelerator.log(evaluator(build_pipeline(ema.model, unwrapped_d, stream.class_names), step), step=step)
        if step % config.checkpointing_steps == 0 or stopped_by_time:
            check_nonfinite()
            save_everything()
            last_saved_step = step
        if stopped_by_time:
            if is_main:
                logger.info("max_train_seconds=%s reached at step %d: stopping", config.max_train_seconds, step)
            break
    progress.close()

    # -- the end: final checkpoint, pipeline, samples, config, Hub ---------------------------------------
    check_nonfinite()
    if last_saved_step != state.global_step:
        save_everything()
    if stopping:
        if is_main:
            logger.warning(
                "stopped after step %d (%s); %s holds it: continue with --resume_from_checkpoint latest",
                state.global_step, stop.reason, output_dir / f"checkpoint-{state.global_step}",
            )
    elif is_main:
        grid = render_validation_grid(ema.model, fixed_z, fixed_labels, grid_rows, grid_cols)
        save_and_log_grid(grid, output_dir, state.global_step, accelerator)
        write_train_config()
        if config.push_to_hub:
            push_to_hub(build_pipeline(ema.model, unwrapped_d, stream.class_names), f"SAGAN after {state.global_step} steps")
    for callback in callbacks:
        callback.on_train_end(
            generator=unwrapped_g, discriminator=unwrapped_d, global_step=state.global_step, rank=rank,
            output_dir=output_dir,
        )
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(
        global_step=state.global_step, train_time_seconds=state.train_time_seconds,
        output_dir=str(output_dir), stopped_by_time_budget=stopped_by_time,
        stopped_by_signal=signal_name(stop.signum) if stopping else None,
        stop_reason=stop.reason if stopping else None,
        exit_status=stop.exit_status if stopping else 0,
    )
