"""The SAGAN pipeline. `pipeline_sagan.py` travels alone as a Hub repo's remote code, so it cannot import
the networks itself; importing this package imports them, because diffusers resolves a saved pipeline's
components only from modules that are already imported."""

from .. import models  # noqa: F401 (the component modules, for diffusers' loader)
from .pipeline_sagan import SAGANPipeline, SAGANPipelineOutput
from .standing_statistics import recompute_batchnorm_statistics

__all__ = ["SAGANPipeline", "SAGANPipelineOutput", "recompute_batchnorm_statistics"]
