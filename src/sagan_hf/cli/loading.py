"""Loading the pipeline a command works on, with every failure as one line that names what went wrong."""

from __future__ import annotations


def load_pipeline(path: str, *, dtype=None, device: str | None = None):
    """`SAGANPipeline.from_pretrained(path)` on `device`.

    A missing or damaged file is the pipeline's own one-line error (`DamagedPipelineError`, a ValueError
    naming the file); a Hub repo that cannot be fetched (not found, gated, offline) becomes a ValueError too.
    """
    from ..pipelines import SAGANPipeline

    kwargs = {} if dtype is None else {"dtype": dtype}
    try:
        pipeline = SAGANPipeline.from_pretrained(path, **kwargs)
    except ValueError:
        raise
    except OSError as error:  # huggingface_hub's errors are OSErrors
        raise ValueError(f"cannot load the pipeline {path!r}: {error}") from error
    pipeline.set_progress_bar_config(disable=True)
    return pipeline if device is None else pipeline.to(device)
