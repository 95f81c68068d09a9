"""SAGANPipeline: class-conditional image generation with a SAGAN generator."""

import contextlib
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline
from diffusers.image_processor import VaeImageProcessor
from diffusers.utils import BaseOutput
from torch.nn.utils import parametrize

from ..models import SAGANDiscriminator, SAGANGenerator
from .sampling import Generators, sample_class_labels, sample_latents

# What `from_pretrained(repo_id)` needs from a Hub repo: configs, safetensors weights and the card.
HUB_ALLOW_PATTERNS = ["model_index.json", "*/config.json", "*/*.safetensors", "README.md"]
OUTPUT_TYPES = ("pil", "np", "pt")

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from sagan_hf import SAGANPipeline

        >>> pipe = SAGANPipeline.from_pretrained("org/sagan-imagenet128")
        >>> out = pipe(class_labels=[207, 360], generator=torch.Generator().manual_seed(0))
        >>> out.images[0].save("dog.png")
        ```
"""


@dataclass
class SAGANPipelineOutput(BaseOutput):
    """
    Output of [`SAGANPipeline`].

    Args:
        images (`list[PIL.Image.Image]`, `np.ndarray` or `torch.Tensor`):
            The images: PIL images, a float array (B, H, W, 3) in [0, 1], or a tensor (B, 3, H, W) in [0, 1].
        class_labels (`torch.LongTensor` or `None`):
            The class of each image (the ones given, or the ones drawn); `None` for an unconditional model.
        attentions (`tuple[torch.Tensor]`, *optional*):
            With `output_attentions=True`: one map per attention layer of the generator, shape (B, N, N/4),
            where row j holds how much output location j attends to each of the N/4 pooled locations.
    """

    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    class_labels: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class SAGANPipeline(DiffusionPipeline):
    r"""
    Pipeline for image generation with a Self-Attention GAN (Zhang et al., 2019).

    This model inherits from [`DiffusionPipeline`]. Load it with `SAGANPipeline.from_pretrained` (a local
    folder or a Hub repo id); `DiffusionPipeline.from_pretrained` cannot resolve this third-party class.

    Parameters:
        generator ([`SAGANGenerator`]): the generator (usually the EMA weights of a run).
        discriminator ([`SAGANDiscriminator`], *optional*): kept so that a run can be fine-tuned.
    """

    model_cpu_offload_seq = "generator"
    _optional_components = ["discriminator"]
    # Compute each spectral-norm weight once per call; False recomputes it at every read (the plain
    # path, kept for baselines and agreement checks).
    cache_spectral_norm = True

    def __init__(self, generator: SAGANGenerator, discriminator: SAGANDiscriminator | None = None):
        super().__init__()
        self.register_modules(generator=generator, discriminator=discriminator)
        # GAN outputs live in [-1, 1]; the processor maps them to [0, 1] and converts (bf16-safe).
        self.image_processor = VaeImageProcessor(do_resize=False, do_normalize=True)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "SAGANPipeline":
        """Load from a local folder or a Hub repo id (see `download`); takes diffusers' usual arguments.

        Models are built directly on the CPU rather than empty on the meta device: registering spectral
        norm runs power iterations, which are far slower on meta tensors than on real small ones.
        """
        if kwargs.get("device_map") is None:
            kwargs.setdefault("low_cpu_mem_usage", False)
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

    @classmethod
    def download(cls, pretrained_model_name, **kwargs) -> str:
        """Fetch a Hub repo into the cache and return its folder.

        diffusers 0.42 would look for a `generator/<module path>.py` file in the repo to resolve our
        third-party class from a repo id (diffusers issue #6563); the class is already imported here,
        so only the configs and weights are downloaded.
        """
        from huggingface_hub import snapshot_download

        return snapshot_download(
            pretrained_model_name,
            revision=kwargs.get("revision"),
            cache_dir=kwargs.get("cache_dir"),
            local_files_only=kwargs.get("local_files_only") or False,
            token=kwargs.get("token"),
            force_download=kwargs.get("force_download") or False,
            allow_patterns=HUB_ALLOW_PATTERNS,
        )

    def _batch_size(self, class_labels, batch_size, generator, latents) -> int:
        """One batch size from every argument that implies one; a ValueError when they disagree."""
        sizes = {}
        if class_labels is not None:
            sizes["class_labels"] = len(class_labels)
        if batch_size is not None:
            sizes["batch_size"] = batch_size
        if isinstance(generator, list):
            sizes["the list of generators"] = len(generator)
        if latents is not None:
            sizes["latents"] = latents.shape[0]
        if len(set(sizes.values())) > 1:
            found = ", ".join(f"{name}: {size}" for name, size in sizes.items())
            raise ValueError(f"The batch size is ambiguous: {found}. Give arguments that agree.")
        size = next(iter(sizes.values()), 1)
        if size < 1:
            raise ValueError(f"The batch size must be at least 1, got {size}")
        return size

    def check_inputs(self, class_labels, latents, truncation, output_type, batch_size) -> torch.Tensor | None:
        """Validate the call; returns the class labels as a CPU LongTensor (or None)."""
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
        if truncation is not None and not truncation > 0:
            raise ValueError(f"truncation must be a positive number (or None for plain N(0, I)), got {truncation}")
        num_classes = self.generator.config.num_classes
        if class_labels is not None:
            if num_classes == 0:
                raise ValueError("This generator is unconditional (num_classes=0): call it without class_labels")
            labels = torch.as_tensor(class_labels).reshape(-1).cpu()
            if labels.numel() == 0:
                raise ValueError("The batch size must be at least 1, got an empty class_labels")
            if labels.is_floating_point() or labels.dtype == torch.bool:
                raise ValueError(f"class_labels must be integers, got {labels.dtype}")
            if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
                bad = labels[(labels < 0) | (labels >= num_classes)].tolist()
                raise ValueError(f"class labels must lie in [0, {num_classes}); got {bad}")
            class_labels = labels.long()
        if latents is not None:
            z_dim = self.generator.config.z_dim
            if latents.ndim != 2 or latents.shape[1] != z_dim:
                raise ValueError(f"latents must have shape (batch, {z_dim}), got {tuple(latents.shape)}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return class_labels

    @torch.no_grad()
    def __call__(
        self,
        class_labels: int | list[int] | torch.Tensor | None = None,
        batch_size: int | None = None,
        generator: Generators = None,
        latents: torch.Tensor | None = None,
        truncation: float | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        output_attentions: bool = False,
    ) -> SAGANPipelineOutput | tuple:
        r"""
        Generate images.

        Args:
            class_labels (`int`, `list[int]` or `torch.Tensor`, *optional*):
                Classes to generate (ImageNet indices for an ImageNet model). Drawn uniformly at random when
                not given; not allowed for an unconditional model.
            batch_size (`int`, *optional*):
                Number of images, when it is not implied by `class_labels`, `latents` or a list of generators.
                Defaults to 1.
            generator (`torch.Generator` or `list[torch.Generator]`, *optional*):
                Random number generator(s) for reproducible sampling (one per image when a list).
            latents (`torch.Tensor` of shape `(batch, z_dim)`, *optional*):
                Latents to use instead of sampling them.
            truncation (`float`, *optional*):
                Sample z from a normal truncated to [-truncation, truncation] (the truncation trick);
                smaller values trade variety for fidelity. `None` samples plain N(0, I).
            output_type (`str`, defaults to `"pil"`):
                `"pil"`, `"np"` (float array (B, H, W, 3) in [0, 1]) or `"pt"` (tensor (B, 3, H, W) in [0, 1]).
            return_dict (`bool`, defaults to `True`):
                Return a [`SAGANPipelineOutput`] instead of a tuple.
            output_attentions (`bool`, defaults to `False`):
                Also return the generator's attention maps (uses the explicit attention path).

        Examples:

        Returns:
            [`SAGANPipelineOutput`] or `tuple`: with `return_dict=False`, `(images, class_labels)` or
            `(images, class_labels, attentions)` when attention maps were asked for.
        """
        class_labels = self.check_inputs(class_labels, latents, truncation, output_type, batch_size)
        num_images = self._batch_size(class_labels, batch_size, generator, latents)
        config = self.generator.config
        device, dtype = self._execution_device, self.generator.dtype

        # z first, then the classes: the same seed gives the same z whether or not classes are given.
        if latents is None:
            latents = sample_latents(num_images, config.z_dim, generator, truncation)
        if class_labels is None and config.num_classes > 0:
            class_labels = sample_class_labels(num_images, config.num_classes, generator)

        was_training = self.generator.training
        self.generator.eval()
        try:
            with parametrize.cached() if self.cache_spectral_norm else contextlib.nullcontext():
                output = self.generator(
                    latents.to(device=device, dtype=dtype),
                    None if class_labels is None else class_labels.to(device),
                    output_attentions=output_attentions,
                )
        finally:
            self.generator.train(was_training)
        images, attentions = output if output_attentions else (output, None)

        images = self.image_processor.postprocess(images.float(), output_type=output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (images, class_labels) + ((attentions,) if output_attentions else ())
        return SAGANPipelineOutput(images=images, class_labels=class_labels, attentions=attentions)


SAGANPipeline.__call__.__doc__ = SAGANPipeline.__call__.__doc__.replace("        Examples:\n", EXAMPLE_DOC_STRING, 1)
