"""SAGANPipeline: class-conditional image generation with a SAGAN generator.

Like `models/modeling_sagan.py`, this file travels to the Hub byte for byte (as `pipeline_sagan.py` at
a repo's root) for loading with plain diffusers and `trust_remote_code=True`: it imports torch, numpy,
PIL and diffusers only, and takes its components as whatever `from_pretrained` built.
"""

import contextlib
import difflib
import math
import os
import sys
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline, ModelMixin
from diffusers.image_processor import VaeImageProcessor
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor
from torch.nn.utils import parametrize

# ------------------------------------------------------------------------------------------------
# Latent and class sampling: plain or truncated normal z, uniform classes.

Generators = torch.Generator | list[torch.Generator] | None


def _per_sample(generator: Generators, batch_size: int, draw):
    """Call `draw(n, g)` once for the batch, or once per sample with a list of generators."""
    if isinstance(generator, list):
        return torch.cat([draw(1, g) for g in generator[:batch_size]])
    return draw(batch_size, generator)


def sample_latents(batch_size: int, z_dim: int, generator: Generators, truncation: float | None) -> torch.Tensor:
    """z ~ N(0, I) in fp32 on the CPU, or a normal truncated to [-truncation, truncation] (BigGAN's trick).

    The truncated normal is drawn by inverting the CDF of a uniform sample, so one draw per value:
    no rejection loop, and the result depends only on the seed.
    """
    if truncation is None:
        return randn_tensor((batch_size, z_dim), generator=generator, device=torch.device("cpu"), dtype=torch.float32)
    low = 0.5 * math.erfc(truncation / math.sqrt(2.0))  # Phi(-truncation)

    def draw(n, g):
        uniform = torch.rand((n, z_dim), generator=g, dtype=torch.float64)
        return torch.special.ndtri(low + (1.0 - 2.0 * low) * uniform)

    return _per_sample(generator, batch_size, draw).to(torch.float32)


def sample_class_labels(batch_size: int, num_classes: int, generator: Generators) -> torch.Tensor:
    """Uniform random classes, drawn from the same generator(s) as the latents."""
    return _per_sample(generator, batch_size, lambda n, g: torch.randint(0, num_classes, (n,), generator=g))


def check_id2label(id2label, num_classes: int) -> dict[int, str] | None:
    """`id2label` with int keys (JSON stores them as strings), checked against the class count."""
    if id2label is None:
        return None
    if not isinstance(id2label, dict):
        raise ValueError(f"id2label must be a dict of class index -> name, got {type(id2label).__name__}")
    try:
        table = {int(index): str(name) for index, name in id2label.items()}
    except (TypeError, ValueError):
        raise ValueError("id2label keys must be class indices (integers)") from None
    if sorted(table) != list(range(num_classes)):
        raise ValueError(f"id2label must name each of the generator's {num_classes} classes 0..{num_classes - 1} "
                         f"once; got {len(table)} entries")
    return dict(sorted(table.items()))


# What `from_pretrained(repo_id)` needs from a Hub repo: configs, safetensors weights and the card.
HUB_ALLOW_PATTERNS = ["model_index.json", "*/config.json", "*/*.safetensors", "README.md"]
# The networks' module by the name a remote-code repo gives its file and by its name in the installed
# package. The latter is looked up among imported modules only: loading never imports what a repo names.
REMOTE_NETWORKS_MODULE = "modeling_sagan"
PACKAGE_NETWORKS_MODULE = "sagan_hf.models.modeling_sagan"
# `from_pretrained` arguments that say where files come from, and those each network's loader takes.
DOWNLOAD_ARGUMENTS = ("cache_dir", "force_download", "local_files_only", "proxies", "revision", "token")
MODEL_ARGUMENTS = ("device_map", "disable_mmap", "dtype", "low_cpu_mem_usage", "max_memory", "offload_folder",
                   "torch_dtype", "use_safetensors", "variant")
OUTPUT_TYPES = ("pil", "np", "pt")

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from sagan_hf import SAGANPipeline

        >>> pipe = SAGANPipeline.from_pretrained("org/sagan-imagenet128")
        >>> out = pipe(class_labels=[207, 360], generator=torch.Generator().manual_seed(0))
        >>> out.images[0].save("dog.png")

        >>> # models that carry class names (id2label) take names too
        >>> pipe.get_label_ids(["golden retriever", "lakeside"])
        [207, 975]
        >>> out = pipe(class_labels=["golden retriever", "lakeside"], truncation=1.0)
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
    folder or a Hub repo id), or, without sagan-hf installed, a pushed repo with
    `DiffusionPipeline.from_pretrained(repo_id, trust_remote_code=True)`.

    Parameters:
        generator ([`SAGANGenerator`]): the generator (usually the EMA weights of a run).
        discriminator ([`SAGANDiscriminator`], *optional*): kept so that a run can be fine-tuned.
        id2label (`dict[int, str]`, *optional*): class names by index (saved in `model_index.json`), as in
            diffusers' DiTPipeline; a name may list synonyms separated by commas ("tench, Tinca tinca").
    """

    model_cpu_offload_seq = "generator"
    _optional_components = ["discriminator"]
    # Compute each spectral-norm weight once per call; False recomputes it at every read (the plain
    # path, kept for baselines and agreement checks).
    cache_spectral_norm = True

    def __init__(
        self,
        generator: ModelMixin,  # a SAGANGenerator (this file cannot import it: it travels alone)
        discriminator: ModelMixin | None = None,
        id2label: dict[int, str] | None = None,
    ):
        super().__init__()
        self.register_modules(generator=generator, discriminator=discriminator)
        id2label = check_id2label(id2label, generator.config.num_classes)
        self.register_to_config(id2label=id2label)
        # name (and each synonym) -> index, for `get_label_ids` and names in `class_labels`
        self.labels = {
            synonym.strip(): index for index, name in (id2label or {}).items() for synonym in name.split(",")
        }
        # GAN outputs live in [-1, 1]; the processor maps them to [0, 1] and converts (bf16-safe).
        self.image_processor = VaeImageProcessor(do_resize=False, do_normalize=True)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "SAGANPipeline":
        """Load from a local folder or a Hub repo id (see `download`); takes diffusers' usual arguments.

        Both layouts load: the package's own (what `save_pretrained` writes: model_index.json names
        `sagan_hf.models...` modules) and the remote-code layout of a pushed repo (it names the repo's
        `pipeline_sagan.py` and `modeling_sagan.py`). The latter is built from the installed package's
        networks: no code from the repo runs here (`DiffusionPipeline.from_pretrained(repo,
        trust_remote_code=True)` is the way that runs it, without sagan-hf installed).

        Without a `device_map`, the networks are built on the CPU and then filled (`low_cpu_mem_usage=False`);
        pass `low_cpu_mem_usage=True` for diffusers' empty (meta-device) models.
        """
        if kwargs.get("device_map") is None:
            kwargs.setdefault("low_cpu_mem_usage", False)
        networks = sys.modules.get(PACKAGE_NETWORKS_MODULE)
        if networks is None:  # this file runs as a repo's remote code: diffusers resolves the repo's files
            return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        folder = str(pretrained_model_name_or_path)
        if not os.path.isdir(folder):
            folder = cls.download(folder, **{key: kwargs.pop(key) for key in DOWNLOAD_ARGUMENTS if key in kwargs})
        index = cls.load_config(folder)
        if not isinstance(index.get("_class_name"), (list, tuple)):
            return super().from_pretrained(folder, **kwargs)
        return cls._from_remote_code_layout(folder, index, networks, kwargs)

    @classmethod
    def _from_remote_code_layout(cls, folder: str, index: dict, networks, kwargs: dict) -> "SAGANPipeline":
        """Build the pipeline of a remote-code folder from the package's classes of the names it records."""
        kwargs.pop("trust_remote_code", None)  # nothing from the folder runs, so there is nothing to trust
        for key in DOWNLOAD_ARGUMENTS:
            kwargs.pop(key, None)  # a local folder: nothing to fetch
        parts = {name: kwargs.pop(name) for name in ("generator", "discriminator", "id2label") if name in kwargs}
        unknown = sorted(set(kwargs) - set(MODEL_ARGUMENTS))
        if unknown:
            raise ValueError(f"Unexpected from_pretrained argument(s) {unknown}; a SAGAN pipeline takes "
                             f"{sorted(MODEL_ARGUMENTS + DOWNLOAD_ARGUMENTS)} and its components by name")
        for name in ("generator", "discriminator"):
            if name in parts:
                continue
            library, class_name = index.get(name) or (None, None)
            if class_name is None:
                parts[name] = None
                continue
            model_class = getattr(networks, class_name, None) if library == REMOTE_NETWORKS_MODULE else None
            if model_class is None:
                raise ValueError(f"{folder}/model_index.json names {[library, class_name]} for the {name}; "
                                 f"expected [{REMOTE_NETWORKS_MODULE!r}, a class of {PACKAGE_NETWORKS_MODULE}]")
            parts[name] = model_class.from_pretrained(folder, subfolder=name, **kwargs)
        parts.setdefault("id2label", index.get("id2label"))
        return cls(**parts)

    @classmethod
    def download(cls, pretrained_model_name, **kwargs) -> str:
        """Fetch a Hub repo into the cache and return its folder.

        Only the configs, the weights and the card are fetched, never the repo's code files: the classes
        are the installed package's. (diffusers 0.42 would also look for a `generator/<module path>.py`
        file to resolve our third-party classes from a repo id: diffusers issue #6563.)
        """
        if sys.modules.get(PACKAGE_NETWORKS_MODULE) is None:  # running as a repo's remote code
            return super().download(pretrained_model_name, **kwargs)
        from huggingface_hub import snapshot_download

        return snapshot_download(
            pretrained_model_name,
            revision=kwargs.get("revision"),
            cache_dir=kwargs.get("cache_dir"),
            local_files_only=kwargs.get("local_files_only") or False,
            token=kwargs.get("token"),
            force_download=kwargs.get("force_download") or False,
            proxies=kwargs.get("proxies"),
            allow_patterns=HUB_ALLOW_PATTERNS,
        )

    @property
    def id2label(self) -> dict[int, str] | None:
        """Class names by index, or None when the model carries none."""
        return self.config.id2label

    def get_label_ids(self, label: str | list[str]) -> list[int]:
        """Class indices of class names (any synonym of an ImageNet name works), like DiTPipeline's.

        Raises a ValueError naming the unknown names and the closest known ones.
        """
        names = [label] if isinstance(label, str) else list(label)
        if not self.labels:
            raise ValueError("This pipeline carries no class names (id2label); give class indices instead")
        unknown = [name for name in names if name not in self.labels]
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, list(self.labels), n=3, cutoff=0.5)
                hints.append(f"{name!r}" + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))
            raise ValueError(f"Unknown class name(s): {'; '.join(hints)}. Known names: pipe.labels")
        return [self.labels[name] for name in names]

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
            if isinstance(class_labels, str) or (
                isinstance(class_labels, (list, tuple)) and any(isinstance(c, str) for c in class_labels)
            ):
                names = [class_labels] if isinstance(class_labels, str) else class_labels
                class_labels = [c if not isinstance(c, str) else self.get_label_ids(c)[0] for c in names]
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
        class_labels: int | str | list[int | str] | torch.Tensor | None = None,
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
            class_labels (`int`, `str`, `list[int | str]` or `torch.Tensor`, *optional*):
                Classes to generate: indices (ImageNet indices for an ImageNet model) or class names from
                `id2label` (see `get_label_ids`). Drawn uniformly at random when not given; not allowed for an
                unconditional model.
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
