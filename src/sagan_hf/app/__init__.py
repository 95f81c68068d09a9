"""The attention explorer (`sagan-hf explore`): a Gradio app over a SAGANPipeline, and its Hub Space.

`Explorer` (generation and one-query attention) needs torch only; the page (`sagan_hf.app.ui`) needs
gradio, from the optional `app` extra: `pip install 'sagan-hf[app]'`.
"""

from .explorer import Explorer
from .query_attention import LayerAttention, attention_row, capture_attention_inputs, query_attention

__all__ = ["Explorer", "LayerAttention", "attention_row", "capture_attention_inputs", "query_attention"]
