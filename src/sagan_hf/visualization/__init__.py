"""Pictures of a SAGAN: sample grids, the paper's attention figure, the validation grid.

Used by `sagan-hf sample`, the demo report, model cards and the trainer; `spread_classes` picks the
classes every one of them shows.
"""

from .attention import (
    DEFAULT_QUERY_POINTS,
    attention_map_for_query,
    attention_overlay_image,
    heat_overlay,
    save_attention_maps,
)
from .classes import spread_classes
from .grids import attention_figure, class_columns_grid, class_rows_grid, upscale_small, write_samples
from .validation import fixed_validation_inputs, render_validation_grid

__all__ = [
    "DEFAULT_QUERY_POINTS",
    "attention_figure",
    "attention_map_for_query",
    "attention_overlay_image",
    "class_columns_grid",
    "class_rows_grid",
    "fixed_validation_inputs",
    "heat_overlay",
    "render_validation_grid",
    "save_attention_maps",
    "spread_classes",
    "upscale_small",
    "write_samples",
]
