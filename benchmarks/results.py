"""Benchmark rows: what each measurement records, the printed table and the JSON file."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field

import torch


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"


def versions() -> dict[str, str]:
    """Versions of the libraries whose speed is measured."""
    import accelerate
    import datasets
    import diffusers
    import PIL

    found = {
        "python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
        "accelerate": accelerate.__version__, "datasets": datasets.__version__, "pillow": PIL.__version__,
    }
    if torch.version.cuda:
        found["cuda"] = torch.version.cuda
    return found


@dataclass
class Row:
    """One measurement. `ratio` is its speed over the baseline row of the same group (same run)."""

    section: str  # train, sample, attention, data
    group: str  # rows compared with each other, e.g. "train small b32"
    variant: str
    device: str
    dtype: str
    batch: int
    threads: int
    iters: int = 0
    seconds_per_iter: float | None = None
    items_per_second: float | None = None  # images/s (train, sample, data) or calls/s (attention)
    peak_mib: float | None = None
    ratio: float | None = None
    baseline: bool = False
    default: bool = False  # what a user gets without asking: the trainer's / pipeline's / stream's defaults
    status: str = "ok"  # or "skipped: why" / "failed: why"
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def fill_ratios(rows: list[Row]) -> None:
    """Set every row's ratio to its speed over its group's baseline row."""
    baselines = {row.group: row for row in rows if row.baseline and row.ok}
    for row in rows:
        base = baselines.get(row.group)
        if base is not None and row.ok and row.seconds_per_iter and base.seconds_per_iter:
            row.ratio = base.seconds_per_iter / row.seconds_per_iter


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if value < 1e5 else f"{value:,.0f}"
    return str(value)


def format_table(rows: list[Row]) -> str:
    """A Markdown table of the rows, grouped as measured."""
    header = "| group | variant | dtype | batch | it/s | img/s | ms/it | peak MiB | x baseline | note |"
    lines = [header, "|" + "---|" * 10]
    for row in rows:
        it_s = 1.0 / row.seconds_per_iter if row.ok and row.seconds_per_iter else None
        note = row.status if not row.ok else ", ".join(f"{k} {v}" for k, v in row.extra.items() if k in NOTE_KEYS)
        lines.append(
            f"| {row.group} | {_label(row)} | {row.dtype} | {row.batch} | "
            f"{_fmt(it_s)} | {_fmt(row.items_per_second, 1)} | "
            f"{_fmt(row.seconds_per_iter * 1000 if row.seconds_per_iter else None, 1)} | "
            f"{_fmt(row.peak_mib, 0)} | {_fmt(row.ratio)} | {note} |"
        )
    return "\n".join(lines)


def _label(row: Row) -> str:
    marks = [" (baseline)"] * row.baseline + [" (default path)"] * (row.default and "default path" not in row.variant)
    return row.variant + "".join(marks)


# Extra fields short enough to print in the table's note column.
NOTE_KEYS = ("attention", "compile_s", "model_tflops", "peak_fraction", "host_syncs", "backend", "kernel")


def default_vs_best(rows: list[Row]) -> list[dict]:
    """Each default-path row against the fastest eager row of its group in the same dtype and batch.

    The done-when check of the defaults: a default should be the fastest exact choice. Compile rows are
    left out (measured in a child process, not in turns with the others), and so are other dtypes (bf16
    is the user's choice of precision, not a default) and other batches (the data group's per-image
    decode rows against its streams).
    """
    found = []
    for row in rows:
        if not (row.default and row.ok and row.items_per_second) or "compile" in row.variant:
            continue
        peers = [r for r in rows if r.group == row.group and r.dtype == row.dtype and r.batch == row.batch
                 and r.ok and r.items_per_second and "compile" not in r.variant]
        best = max(peers, key=lambda r: r.items_per_second)
        found.append({"group": row.group, "dtype": row.dtype, "default": row.variant, "best": best.variant,
                      "default_over_best": round(row.items_per_second / best.items_per_second, 3)})
    return found


def format_default_check(found: list[dict]) -> str:
    lines = ["| group | dtype | default path | fastest row of that dtype | default / fastest |", "|---|---|---|---|---|"]
    lines += [f"| {f['group']} | {f['dtype']} | {f['default']} | {f['best']} | {f['default_over_best']:.2f} |"
              for f in found]
    return "\n".join(lines)


def write_json(path: str, header: dict, rows: list[Row]) -> None:
    """Write {"run": header, "rows": [...]} with every row carrying the run's versions."""
    record = {"run": header, "rows": [asdict(row) | {"versions": header["versions"]} for row in rows]}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
