"""FID/IS of the EMA generator during training, and the best pipeline by FID in `output_dir/best/`."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from .pipeline_export import save_pipeline

logger = logging.getLogger(__name__)


class PeriodicEvaluator:
    """Scores a pipeline with `sagan_hf.evaluation.evaluate_pipeline` and keeps the best one by FID.

    The Inception network is loaded once, on first use (it refuses non-standard weights: no silent
    fallback). Runs on the main process only.
    """

    def __init__(self, *, reference: str, num_samples: int, batch_size: int, seed: int,
                 inception_weights: str | None, output_dir: str | Path, device):
        self.reference = reference
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.inception_weights = inception_weights
        self.best_dir = Path(output_dir) / "best"
        self.device = device
        self.best_fid = self._saved_best_fid()
        self.last_report: dict | None = None
        self._extractor = None

    def _saved_best_fid(self) -> float:
        """The FID of `best/` from an earlier (resumed) run, so a worse model never replaces it."""
        report = self.best_dir / "eval_report.json"
        if not report.is_file():
            return math.inf
        fid = json.loads(report.read_text(encoding="utf-8")).get("metrics", {}).get("fid")
        return math.inf if fid is None else float(fid)

    def __call__(self, pipeline, step: int) -> dict:
        """Evaluate; returns tracker values (eval/fid, eval/is_mean, ...); saves `best/` on a new best FID."""
        from ..evaluation import evaluate_pipeline, load_inception_extractor, tracker_scores

        if self._extractor is None:
            self._extractor = load_inception_extractor(self.inception_weights, device=self.device)
        report = evaluate_pipeline(
            pipeline, num_samples=self.num_samples, reference=self.reference, batch_size=self.batch_size,
            seed=self.seed, inception=self._extractor, device=self.device, progress=False,
        )
        report["step"] = step
        self.last_report = report
        fid = report.get("metrics", {}).get("fid")  # standard weights only: 'metrics' is empty otherwise
        if fid is not None and fid < self.best_fid:
            self.best_fid = fid
            self.best_dir.mkdir(parents=True, exist_ok=True)
            save_pipeline(pipeline, self.best_dir)
            (self.best_dir / "eval_report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
            logger.info("step %d: new best FID %.3f, pipeline saved in %s", step, fid, self.best_dir)
        return tracker_scores(report)  # scores of non-standard weights are never named FID/IS
