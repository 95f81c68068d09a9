"""What every converter shares: one place for each rule.

- `checkpoint_file`: `torch.load(weights_only=True)` with the numpy scalars the sources pickle; SHA-256.
- `source_state`: a source state dict read key by key, every problem reported at once.
- `spectral`: the u, v our spectral norm stores, from torch's hook format (with k folded power steps)
  or BigGAN-PyTorch's one-step eval.
- `batchnorm`: BatchNorm epsilon differences folded into the running variance.
- `cbn`: the sources' class-conditional gains and biases folded into our per-class tables.
- `mapping`: `StateMapper`, which fills our model's state dict layer by layer.
- `architecture`: a network's blocks and widths read off its state dict.
- `color`: BGR-trained networks turned into RGB ones.
- `class_names`: ImageNet-1k and CIFAR-10 class names.
- `published`, `output`: what a conversion records, and how the pipeline folder is written.
"""

from .architecture import (
    BlockList,
    NetworkShapes,
    build_discriminator,
    build_generator,
    child_indices,
    residual_blocks,
    split_widths,
    tensor_shape,
    walk_blocks,
)
from .batchnorm import fold_bn_eps
from .cbn import (
    gain_from_offset,
    tables_from_onehot_linear,
    tables_from_shared_embedding,
)
from .checkpoint_file import NUMPY_SCALAR_GLOBALS, file_sha256, load_checkpoint_file
from .class_names import (
    CIFAR10_CLASSES,
    CLASS_NAME_CHOICES,
    class_names_id2label,
    imagenet_class_names,
)
from .color import reverse_discriminator_colors, reverse_generator_colors
from .mapping import SpectralReader, StateMapper
from .output import (
    CONVERSION_FILE,
    build_pipeline,
    conversion_record,
    converter_version,
    save_converted_pipeline,
)
from .published import PublishedCheckpoint, SourceProject
from .source_state import SourceState
from .spectral import (
    SpectralWeight,
    biggan_eval_vectors,
    power_iterations,
    torch_hook_reader,
)

__all__ = [
    "CIFAR10_CLASSES",
    "CLASS_NAME_CHOICES",
    "CONVERSION_FILE",
    "NUMPY_SCALAR_GLOBALS",
    "BlockList",
    "NetworkShapes",
    "PublishedCheckpoint",
    "SourceProject",
    "SourceState",
    "SpectralReader",
    "SpectralWeight",
    "StateMapper",
    "biggan_eval_vectors",
    "build_discriminator",
    "build_generator",
    "build_pipeline",
    "child_indices",
    "class_names_id2label",
    "conversion_record",
    "converter_version",
    "file_sha256",
    "fold_bn_eps",
    "gain_from_offset",
    "imagenet_class_names",
    "load_checkpoint_file",
    "power_iterations",
    "residual_blocks",
    "reverse_discriminator_colors",
    "reverse_generator_colors",
    "save_converted_pipeline",
    "split_widths",
    "tables_from_onehot_linear",
    "tables_from_shared_embedding",
    "tensor_shape",
    "torch_hook_reader",
    "walk_blocks",
]
