from .pipeline_sagan import SAGANPipeline, SAGANPipelineOutput

__all__ = ["SAGANPipeline", "SAGANPipelineOutput"]
