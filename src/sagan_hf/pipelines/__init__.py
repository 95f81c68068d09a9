from .pipeline_sagan import SAGANPipeline, SAGANPipelineOutput
from .standing_statistics import recompute_batchnorm_statistics

__all__ = ["SAGANPipeline", "SAGANPipelineOutput", "recompute_batchnorm_statistics"]
