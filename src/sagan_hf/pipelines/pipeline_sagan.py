"""SAGANPipeline: class-conditional image generation with a SAGAN generator.

Like `models/modeling_sagan.py`, this file travels to the Hub byte for byte (as `pipeline_sagan.py` at
a repo's root) for loading with plain diffusers and `trust_remote_code=True`: it imports torch, numpy,
PIL and diffusers only, and takes its components as whatever `from_pretrained` built.
"""

import contextlib
import difflib
import json
import math
import numbers
import os
import sys
from dataclasses import dataclass
from typing import Union

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline, ModelMixin
from diffusers.image_processor import VaeImageProcessor
from diffusers.utils import BaseOutput, logging
from diffusers.utils.torch_utils import randn_tensor
from torch.nn.utils import parametrize

logger = logging.get_logger(__name__)

# ------------------------------------------------------------------------------------------------
# Latent and class sampling: plain or truncated normal z, uniform classes.

Generators = torch.Generator | list[torch.Generator] | None
SEED_LIMIT = 2**64  # torch.Generator.manual_seed takes seeds in [0, 2**64)


def as_generators(generator) -> Generators:
    """`generator` with each int seed made a CPU `torch.Generator` (latents are drawn on the CPU)."""
    if isinstance(generator, list):
        return [as_generators(g) for g in generator]
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if _is_integer(generator) and 0 <= generator < SEED_LIMIT:
        return torch.Generator().manual_seed(int(generator))
    raise ValueError(f"generator must be a torch.Generator, an int seed in [0, 2**64) or a list of them, "
                     f"got {generator!r:.80}")


def _per_sample(generator: Generators, batch_size: int, draw):
    """Call `draw(n, g, device)` once for the batch, or once per sample with a list of generators.

    Each draw happens on its generator's device (a CUDA generator cannot fill a CPU tensor) and is
    moved to the CPU, so the values depend only on the seeds, never on where the model runs.
    """
    def on_cpu(n, g):
        return draw(n, g, g.device if g is not None else torch.device("cpu")).cpu()

    if isinstance(generator, list):
        return torch.cat([on_cpu(1, g) for g in generator[:batch_size]])
    return on_cpu(batch_size, generator)


def sample_latents(batch_size: int, z_dim: int, generator: Generators, truncation: float | None) -> torch.Tensor:
    """z ~ N(0, I) in fp32 on the CPU, or a normal truncated to [-truncation, truncation] (BigGAN's trick).

    The truncated normal is drawn by inverting the CDF of a uniform sample, so one draw per value:
    no rejection loop, and the result depends only on the seed.
    """
    if truncation is None:
        return _per_sample(
            generator, batch_size, lambda n, g, device: randn_tensor((n, z_dim), generator=g, device=device)
        ).float()
    low = 0.5 * math.erfc(truncation / math.sqrt(2.0))  # Phi(-truncation)

    def draw(n, g, device):
        uniform = torch.rand((n, z_dim), generator=g, dtype=torch.float64, device=device)
        return torch.special.ndtri(low + (1.0 - 2.0 * low) * uniform)

    return _per_sample(generator, batch_size, draw).to(torch.float32)


def sample_class_labels(batch_size: int, num_classes: int, generator: Generators) -> torch.Tensor:
    """Uniform random classes, drawn from the same generator(s) as the latents."""
    return _per_sample(
        generator, batch_size, lambda n, g, device: torch.randint(0, num_classes, (n,), generator=g, device=device)
    )


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


# ------------------------------------------------------------------------------------------------
# Damaged folders: a missing, truncated or non-finite weights file is refused in one line naming it.
# (diffusers names a missing `.safetensors` as a missing `.bin`, and loads NaN weights silently.)

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"


class DamagedPipelineError(OSError, ValueError):
    """A file of a saved pipeline is missing or damaged; the message names it.

    An OSError like diffusers' own loading errors, and a ValueError so that the `sagan-hf` commands
    report it as one line.
    """


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError) as error:
        raise DamagedPipelineError(f"{path} is damaged or unreadable ({type(error).__name__})") from None


def check_safetensors_file(path: str) -> None:
    """Raise `DamagedPipelineError` unless `path` is a whole safetensors file: a readable header and
    exactly the bytes its tensors need (a cut-off copy fails here, not as a SafetensorError without a path)."""
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        head = file.read(8)
        header_size = int.from_bytes(head, "little")
        if len(head) < 8 or header_size > size - 8:
            raise DamagedPipelineError(f"{path} is truncated or not a safetensors file ({size} bytes)")
        try:
            header = json.loads(file.read(header_size))
            ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
            expected = 8 + header_size + max(ends, default=0)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise DamagedPipelineError(f"{path} is damaged: its safetensors header is unreadable") from None
    if size != expected:
        state = "truncated" if size < expected else "damaged"
        raise DamagedPipelineError(f"{path} is {state}: {size} bytes where its header describes {expected}")


def check_pipeline_folder(folder: str, optional_components=()) -> dict[str, str | None]:
    """Check a saved pipeline's files before loading: {component: its weights file, or None when absent}.

    Raises `DamagedPipelineError` naming the first missing or damaged file. An optional component whose
    config or weights are missing is absent (loaded as None, with a warning).
    """
    index_path = os.path.join(folder, "model_index.json")
    if not os.path.isfile(index_path):
        raise DamagedPipelineError(f"{folder} is not a saved pipeline folder (no model_index.json in it)")
    index = _read_json(index_path)
    if not isinstance(index, dict):
        raise DamagedPipelineError(f"{index_path} is damaged: expected a JSON object")
    files = {}
    for name, entry in index.items():
        if name.startswith("_") or not isinstance(entry, list) or len(entry) != 2 or entry[0] is None:
            continue  # not a component (id2label, _class_name, ...) or one saved as absent
        component, config = os.path.join(folder, name), os.path.join(folder, name, "config.json")
        entries = os.listdir(component) if os.path.isdir(component) else []
        weights = sorted(entry for entry in entries if entry.endswith(".safetensors"))
        missing = (component if not os.path.isdir(component) else config if not os.path.isfile(config)
                   else None if weights else os.path.join(component, WEIGHTS_NAME))
        if missing and name in optional_components:
            logger.warning(f"{missing} is missing: loading the pipeline without its {name}")
            files[name] = None
            continue
        if missing:
            raise DamagedPipelineError(f"{missing} is missing: the pipeline folder is incomplete")
        _read_json(config)
        for weight in weights:
            check_safetensors_file(os.path.join(component, weight))
        files[name] = os.path.join(component, weights[0])
    return files


def first_non_finite(module: torch.nn.Module) -> str | None:
    """The name of the first parameter or buffer of `module` holding a NaN or an infinity, or None."""
    tensors = [*module.named_parameters(), *module.named_buffers()]
    return next((name for name, t in tensors if t.is_floating_point() and not torch.isfinite(t).all()), None)


# ------------------------------------------------------------------------------------------------
# Memory: a call whose output cannot fit is refused before anything is drawn.


def output_nbytes(num_images: int, sample_size: int, output_type: str) -> int:
    """Bytes of the images a call returns: uint8 for PIL, float32 arrays or tensors otherwise."""
    return num_images * 3 * sample_size * sample_size * (1 if output_type == "pil" else 4)


def attention_nbytes(num_images: int, attention_resolutions) -> int:
    """Bytes of the float32 attention maps, (batch, N, N/4) with N = side**2 for each attention layer."""
    return num_images * sum(4 * side**2 * (side**2 // 4) for side in attention_resolutions)


def available_memory(device: torch.device) -> int | None:
    """Bytes that can still be allocated on `device`, or None where that cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    if device.type != "cpu":
        return None
    found = []
    # MemAvailable counts reclaimable page cache (sysconf's free pages do not); a container's cgroup
    # limit can be lower still.
    try:
        with open("/proc/meminfo") as file:
            found += [int(line.split()[1]) * 1024 for line in file if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    with contextlib.suppress(OSError, ValueError):
        with open("/sys/fs/cgroup/memory.max") as limit, open("/sys/fs/cgroup/memory.current") as used:
            found.append(int(limit.read()) - int(used.read()))  # int("max") fails: no limit
    return min(found) if found else None


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask can only set it)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status") as file:
            return next(int(line.split()[1], 8) for line in file if line.startswith("Umask:"))
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer_scalar_tensor(value) -> bool:
    return isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point() and \
        not value.is_complex() and value.dtype != torch.bool


def _format_bytes(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.1f} MiB"


def _concatenate(chunks: list, output_type: str):
    if len(chunks) == 1:
        return chunks[0]
    if output_type == "pil":
        return [image for chunk in chunks for image in chunk]
    return np.concatenate(chunks) if output_type == "np" else torch.cat(chunks)


# ------------------------------------------------------------------------------------------------
# Sampling mode: the fastest exact path, chosen by device.

# Devices where a channels_last generator samples faster (docs/benchmarks.md: 1.5-1.7x on CPU; cuDNN's
# NHWC convolutions on CUDA); elsewhere (e.g. MPS) the default layout stays.
CHANNELS_LAST_DEVICES = ("cpu", "cuda")


def prepare_for_sampling(generator: torch.nn.Module, device: torch.device, channels_last: bool | None = None) -> None:
    """Fold the spectral norm of an eval-mode `generator` for sampling, in the device's fastest layout.

    Each spectral-norm weight's eval-mode value W / sigma is computed once and stored on its
    parametrisation (the model code's `fold_for_sampling`); channels_last conv weights make the whole
    forward run channels_last. The state dict does not change; `generator.train()` drops what was
    stored, and an updated weight (optimiser or EMA step) is folded again at the next call. Generators
    whose code predates `fold_for_sampling` are left as they are (the call still caches per call).
    This loop mirrors `fold_for_sampling` of modeling_sagan.py: this file imports no model code.
    """
    if channels_last is None:
        channels_last = torch.device(device).type in CHANNELS_LAST_DEVICES
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for module in generator.modules():
        if parametrize.is_parametrized(module, "weight"):
            chain = module.parametrizations.weight
            fold = getattr(chain[0], "fold_for_sampling", None)
            if fold is not None:
                fold(chain.original, memory_format)


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
    # Larger calls run the generator on chunks of this many images (the same images, bounded memory).
    max_batch_size = 64
    # Sampling runs the fastest exact path by default (see `prepare_for_sampling`): spectral-norm weights
    # folded once and kept while the weights do not change, in channels_last where that pays (None: by
    # device). cache_spectral_norm=False recomputes every spectral-norm weight at each read: with
    # channels_last=False that is the plain path, kept for baselines and agreement checks.
    cache_spectral_norm = True
    channels_last: bool | None = None

    def __init__(
        self,
        generator: ModelMixin,  # a SAGANGenerator (this file cannot import it: it travels alone)
        discriminator: ModelMixin | None = None,
        # Union, not `int | str`: diffusers' loader checks this annotation against the JSON-loaded value
        # (string keys) and only understands typing.Union there.
        id2label: dict[Union[int, str], str] | None = None,  # noqa: UP007
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

        The folder's files are checked first: a missing config or weights file, a truncated or garbled
        safetensors file, or weights holding NaN or inf raise `DamagedPipelineError` (an OSError and a
        ValueError) naming the file. A discriminator whose files are missing loads as None, with a warning.
        """
        if kwargs.get("device_map") is None:
            kwargs.setdefault("low_cpu_mem_usage", False)
        networks = sys.modules.get(PACKAGE_NETWORKS_MODULE)
        if networks is None:  # this file runs as a repo's remote code: diffusers resolves the repo's files
            return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        folder = str(pretrained_model_name_or_path)
        if not os.path.isdir(folder):
            folder = cls.download(folder, **{key: kwargs.pop(key) for key in DOWNLOAD_ARGUMENTS if key in kwargs})
        # Damaged or missing files are refused by name before loading; weights with NaN/inf after it.
        files = {name: path for name, path in check_pipeline_folder(folder, cls._optional_components).items()
                 if name not in kwargs}  # components passed in are not loaded from the folder
        for name in [name for name, path in files.items() if path is None]:
            kwargs[name] = None
        index = cls.load_config(folder)
        if not isinstance(index.get("_class_name"), (list, tuple)):
            pipeline = super().from_pretrained(folder, **kwargs)
        else:
            pipeline = cls._from_remote_code_layout(folder, index, networks, kwargs)
        for name, path in files.items():
            bad = first_non_finite(getattr(pipeline, name)) if path is not None else None
            if bad is not None:
                raise DamagedPipelineError(f"{path} holds NaN or infinite weights ({bad}): the file is damaged "
                                           "or was saved from a diverged run")
        return pipeline

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

    def save_pretrained(self, save_directory, *args, **kwargs):
        """diffusers' `save_pretrained`, with weights files readable as the umask allows (safetensors
        writes them with mode 0600, which other users of a shared run folder cannot read)."""
        super().save_pretrained(save_directory, *args, **kwargs)
        mode = 0o666 & ~_umask()
        for name in self.components:
            folder = os.path.join(save_directory, name)
            for file in os.listdir(folder) if os.path.isdir(folder) else ():
                if file.endswith(".safetensors"):
                    os.chmod(os.path.join(folder, file), mode)

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

    def check_inputs(self, class_labels, latents, truncation, output_type, batch_size):
        """Validate the call; returns (class labels as a CPU LongTensor or None, latents or None, batch_size)."""
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
        if truncation is not None and not (_is_number(truncation) and truncation > 0):
            raise ValueError(f"truncation must be a positive number (or None for plain N(0, I)), got {truncation!r}")
        if batch_size is not None and not (_is_integer(batch_size) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if class_labels is not None:
            class_labels = self._label_tensor(class_labels)
        if latents is not None:
            latents = self._checked_latents(latents)
        return class_labels, latents, None if batch_size is None else int(batch_size)

    def _label_tensor(self, class_labels) -> torch.Tensor:
        """An index, a name, a flat list of them, or a 1-D integer tensor/array -> a checked CPU LongTensor."""
        num_classes = self.generator.config.num_classes
        if num_classes == 0:
            raise ValueError("This generator is unconditional (num_classes=0): call it without class_labels")
        if isinstance(class_labels, np.ndarray) and class_labels.dtype.kind in "USO":
            class_labels = class_labels.tolist()  # names, or objects to check one by one
        if isinstance(class_labels, (torch.Tensor, np.ndarray)):
            labels = torch.as_tensor(class_labels)
            if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
                raise ValueError(f"class_labels must be integers, got {labels.dtype}")
            if labels.ndim > 1:
                raise ValueError(f"class_labels must hold one label per image (1-D), got shape {tuple(labels.shape)}")
            values = labels.reshape(-1).cpu().tolist()
        else:
            items = list(class_labels) if isinstance(class_labels, (list, tuple)) else [class_labels]
            names = [item for item in items if isinstance(item, str)]
            ids = dict(zip(names, self.get_label_ids(names))) if names else {}
            for item in items:
                if not (isinstance(item, str) or _is_integer(item) or _is_integer_scalar_tensor(item)):
                    raise ValueError(f"class_labels must be integers (class indices) or class names, one per image; "
                                     f"got {item!r:.60} ({type(item).__name__})")
            values = [ids[item] if isinstance(item, str) else int(item) for item in items]
        if not values:
            raise ValueError("The batch size must be at least 1, got an empty class_labels")
        bad = [value for value in values if not 0 <= value < num_classes]
        if bad:
            raise ValueError(f"class labels must lie in [0, {num_classes}); got {bad[:10]}")
        return torch.tensor(values, dtype=torch.long)

    def _checked_latents(self, latents) -> torch.Tensor:
        z_dim = self.generator.config.z_dim
        if isinstance(latents, np.ndarray) and latents.dtype.kind == "f":
            latents = torch.from_numpy(np.ascontiguousarray(latents))
        if not isinstance(latents, torch.Tensor) or not latents.is_floating_point():
            kind = latents.dtype if isinstance(latents, torch.Tensor) else type(latents).__name__
            raise ValueError(f"latents must be a float tensor of shape (batch, {z_dim}), got {kind}")
        if latents.ndim != 2 or latents.shape[1] != z_dim:
            raise ValueError(f"latents must have shape (batch, {z_dim}), got {tuple(latents.shape)}")
        if not torch.isfinite(latents).all():
            raise ValueError("latents must be finite: they hold NaN or infinite values")
        return latents

    def check_memory(self, num_images: int, output_type: str, output_attentions: bool) -> None:
        """Refuse a call whose output (images, and attention maps when asked) cannot fit in memory."""
        config, device = self.generator.config, self._execution_device
        images = output_nbytes(num_images, config.sample_size, output_type)
        maps = attention_nbytes(num_images, config.attention_resolutions) if output_attentions else 0
        images_device = device if output_type == "pt" else torch.device("cpu")  # PIL and numpy live on the host
        needs = {images_device: images}
        needs[device] = needs.get(device, 0) + maps
        for place, count in needs.items():
            available = available_memory(place)
            if available is not None and count > available:
                raise ValueError(
                    f"{num_images} images of {config.sample_size}x{config.sample_size} as {output_type!r}"
                    + (" with attention maps" if maps else "") + f" need {_format_bytes(count)} of {place.type} "
                    f"memory, but {_format_bytes(available)} is available: ask for fewer images per call"
                )

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
        max_batch_size: int | None = None,
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
            generator (`torch.Generator`, `int` or a `list` of them, *optional*):
                Random number generator(s) for reproducible sampling (one per image when a list). An int is a
                seed: `generator=7` is `generator=torch.Generator().manual_seed(7)`.
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
            max_batch_size (`int`, *optional*):
                Run the generator on at most this many images at a time (default: the pipeline's
                `max_batch_size` attribute, 64). A larger call gives the same images as one batch: latents and
                classes are drawn for all images first. A call whose output cannot fit in the available
                memory is refused with a ValueError before anything is drawn.

        Examples:

        Returns:
            [`SAGANPipelineOutput`] or `tuple`: with `return_dict=False`, `(images, class_labels)` or
            `(images, class_labels, attentions)` when attention maps were asked for.
        """
        generator = as_generators(generator)
        class_labels, latents, batch_size = self.check_inputs(
            class_labels, latents, truncation, output_type, batch_size
        )
        num_images = self._batch_size(class_labels, batch_size, generator, latents)
        chunk = self.max_batch_size if max_batch_size is None else max_batch_size
        if not (_is_integer(chunk) and chunk >= 1):
            raise ValueError(f"max_batch_size must be a positive integer, got {chunk!r}")
        self.check_memory(num_images, output_type, output_attentions)
        config = self.generator.config
        device, dtype = self._execution_device, self.generator.dtype

        # z first, then the classes: the same seed gives the same z whether or not classes are given.
        if latents is None:
            latents = sample_latents(num_images, config.z_dim, generator, truncation)
        if class_labels is None and config.num_classes > 0:
            class_labels = sample_class_labels(num_images, config.num_classes, generator)

        was_training = self.generator.training
        self.generator.eval()
        images, attentions = [], []
        try:
            if self.cache_spectral_norm:
                prepare_for_sampling(self.generator, device, self.channels_last)
            with parametrize.cached() if self.cache_spectral_norm else contextlib.nullcontext():
                for start in range(0, num_images, chunk):
                    part = slice(start, start + chunk)
                    output = self.generator(
                        latents[part].to(device=device, dtype=dtype),
                        None if class_labels is None else class_labels[part].to(device),
                        output_attentions=output_attentions,
                    )
                    output, maps = output if output_attentions else (output, None)
                    images.append(self.image_processor.postprocess(output.float(), output_type=output_type))
                    attentions.append(maps)
        finally:
            self.generator.train(was_training)
        images = _concatenate(images, output_type)
        attentions = tuple(_concatenate(list(layer), "pt") for layer in zip(*attentions)) if output_attentions else None

        self.maybe_free_model_hooks()
        if not return_dict:
            return (images, class_labels) + ((attentions,) if output_attentions else ())
        return SAGANPipelineOutput(images=images, class_labels=class_labels, attentions=attentions)


SAGANPipeline.__call__.__doc__ = SAGANPipeline.__call__.__doc__.replace("        Examples:\n", EXAMPLE_DOC_STRING, 1)
