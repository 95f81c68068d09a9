"""Reference statistics from the training data code, evaluate_pipeline, and the JSON report / CLI.

A randomly initialised Inception state dict (saved to a file here) stands in for the real weights,
which cannot be downloaded offline; a tiny real SAGANPipeline (32 px, 5 classes) makes the samples.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sagan_hf import SAGANGenerator, SAGANPipeline
from sagan_hf.evaluation import (
    ReferenceStats,
    build_report,
    compute_reference_stats,
    evaluate_pipeline,
    load_inception_extractor,
    mmd2_unbiased,
    tracker_scores,
)
from sagan_hf.evaluation import weights as weights_module
from sagan_hf.cli import evaluate as evaluate_command
from sagan_hf.cli import reference_stats as reference_command
from sagan_hf.evaluation.runner import balanced_class_labels, generate_features, parse_metrics
from inception_weights import save_random_inception_weights
from sagan_hf.evaluation.weights import sha256_of_file
from streams import open_stream
from sagan_hf.data import DataOptions

REPO = Path(__file__).resolve().parents[1]
REPORT_FIELDS = {
    "metrics",
    "num_samples",
    "inception_weights_sha256",
    "standard_weights",
    "resize_mode",
    "reference",
    "reference_metadata",
    "seed",
    "truncation",
    "dtype",
    "versions",
}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    return save_random_inception_weights(tmp_path_factory.mktemp("inception") / "random.pth", seed=1)


@pytest.fixture(scope="module")
def extractor(weights_file):
    return load_inception_extractor(weights_file, allow_nonstandard_weights=True, device="cpu")


def tiny_pipeline(num_classes=5, seed=0):
    torch.manual_seed(seed)
    generator = SAGANGenerator(
        sample_size=32, num_classes=num_classes, z_dim=16, ch=4, attention_resolutions=(16,)
    )
    return SAGANPipeline(generator=generator)


@pytest.fixture(scope="module")
def shapes_reference(extractor):
    return compute_reference_stats(
        extractor,
        data=DataOptions(dataset_name="shapes", shuffle_buffer_size=0),
        resolution=32,
        batch_size=4,
        max_images=4,
        keep_features=True,
        progress=False,
    )


def test_reference_stats_come_from_the_training_stream(extractor, shapes_reference, tmp_path):
    ref = shapes_reference
    assert ref.mu.shape == (2048,) and ref.sigma.shape == (2048, 2048) and ref.features.shape == (4, 2048)
    assert ref.labels.shape == (4,) and set(ref.labels.tolist()) <= set(range(5))
    meta = ref.metadata
    assert meta["num_images"] == 4 and meta["resolution"] == 32 and meta["dataset"] == "shapes"
    assert meta["resize_mode"] == "tf_bilinear" and meta["weights_sha256"] == extractor.weights_sha256
    assert meta["standard_weights"] is False
    np.testing.assert_allclose(ref.mu, ref.features.astype(np.float64).mean(axis=0), rtol=1e-6, atol=1e-9)
    # The features are those of the images TrainDataStream yields, mapped from [-1, 1] to [0, 1].
    stream = open_stream(dataset_name="shapes", resolution=32, batch_size=4, shuffle_buffer_size=0)
    batches = stream.iter_one_pass()
    first = next(batches)
    batches.close()
    features, _ = extractor((first["pixel_values"] + 1) / 2)
    np.testing.assert_allclose(ref.features[:4], features.numpy(), rtol=1e-5, atol=1e-6)
    assert ref.labels[:4].tolist() == first["class_labels"].tolist()
    # npz round trip keeps everything, metadata included.
    loaded = ReferenceStats.load(ref.save(tmp_path / "sub" / "ref.npz"))
    np.testing.assert_array_equal(loaded.sigma, ref.sigma)
    np.testing.assert_array_equal(loaded.features, ref.features)
    assert loaded.metadata == ref.metadata


def test_reference_must_match_weights_and_resize_mode(extractor, shapes_reference, weights_file, tmp_path):
    other = load_inception_extractor(
        weights_file, resize_mode="clean_pil_bicubic", allow_nonstandard_weights=True
    )
    with pytest.raises(ValueError, match="resize_mode"):
        shapes_reference.check_compatible(other)
    foreign = ReferenceStats(
        shapes_reference.mu, shapes_reference.sigma, metadata={**shapes_reference.metadata}
    )
    foreign.metadata["weights_sha256"] = "0" * 64
    with pytest.raises(ValueError, match="same weights"):
        foreign.check_compatible(extractor)
    # An npz from another tool (mu and sigma only) is accepted with a warning.
    np.savez(tmp_path / "plain.npz", mu=shapes_reference.mu, sigma=shapes_reference.sigma)
    plain = ReferenceStats.load(tmp_path / "plain.npz")
    with pytest.warns(UserWarning, match="no metadata"):
        plain.check_compatible(extractor)
    np.savez(tmp_path / "bad.npz", mean=shapes_reference.mu)
    with pytest.raises(ValueError, match="'mu' and 'sigma'"):
        ReferenceStats.load(tmp_path / "bad.npz")


def test_scores_of_a_pipeline_against_its_own_samples(extractor):
    pipe = tiny_pipeline(num_classes=2)
    own = generate_features(
        pipe, extractor, num_samples=4, batch_size=3, seed=3, keep_features=True, progress=False
    )
    labels = own.labels()
    assert np.bincount(labels, minlength=2).tolist() == [2, 2]  # balanced classes
    assert labels.tolist() == balanced_class_labels(4, 2, 3).tolist()
    reference = ReferenceStats(
        own.stats.mean,
        own.stats.covariance(),
        features=own.features(),
        labels=labels,
        metadata={"weights_sha256": extractor.weights_sha256, "resize_mode": "tf_bilinear", "num_images": 4},
    )
    report = evaluate_pipeline(
        pipe,
        num_samples=4,
        reference=reference,
        metrics="fid,is,kid,pr",
        batch_size=3,
        seed=3,
        inception=extractor,
        progress=False,
        per_class_fid=True,
        kid_subset_size=4,
        kid_subsets=2,
    )
    assert set(report) == REPORT_FIELDS | {
        "nonstandard_metrics",
        "warning",
        "nonstandard_per_class_fid_by_class",
    }
    # Random weights: nothing is called FID; the numbers live under nonstandard_metrics.
    assert report["metrics"] == {} and report["standard_weights"] is False and "NOT" in report["warning"]
    scores = report["nonstandard_metrics"]
    assert scores["fid"] == pytest.approx(0.0, abs=1e-6)  # same seed -> the very same samples
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    by_class = report["nonstandard_per_class_fid_by_class"]
    assert set(by_class) == {"0", "1"}
    assert all(v == pytest.approx(0.0, abs=1e-6) for v in by_class.values())
    assert scores["per_class_fid"] == pytest.approx(np.mean(list(by_class.values())))
    assert 1.0 <= scores["is_mean"] and scores["is_std"] >= 0
    # Identical sets (subsets of 4 out of 4 are permutations): the unbiased MMD of a set with itself.
    assert scores["kid_mean"] == pytest.approx(mmd2_unbiased(own.features(), own.features()), rel=1e-9)
    assert scores["kid_std"] == pytest.approx(0.0, abs=1e-12)
    assert report["num_samples"] == 4 and report["seed"] == 3 and report["dtype"] == "fp32"
    json.dumps(report)  # serialisable as is
    logged = tracker_scores(report)
    metric_names = ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall", "per_class_fid")
    assert logged == {f"eval/nonstandard_{m}": scores[m] for m in metric_names}

    # Another seed gives other samples and a positive distance. This reference has statistics only
    # (as a file from another tool), so the FID goes through the D x D route; its covariance is made
    # full rank, as real references over many images are.
    stats_only = ReferenceStats(
        reference.mu, reference.sigma + 1e-4 * np.eye(2048), metadata=dict(reference.metadata)
    )
    other = evaluate_pipeline(
        pipe,
        num_samples=2,
        reference=stats_only,
        metrics=("fid",),
        batch_size=2,
        seed=4,
        inception=extractor,
        progress=False,
    )
    fid = other["nonstandard_metrics"]["fid"]
    # W2 only shrinks under projection: on the ~2040 directions where both covariances are ~0 but
    # the reference's has the added 1e-4, the distance is already about 2040 * 1e-4.
    assert np.isfinite(fid) and fid > 2000 * 1e-4


def test_unconditional_bf16_pipeline_inception_score_only(extractor):
    pipe = tiny_pipeline(num_classes=0)
    pipe.generator.to(torch.bfloat16)  # bf16 generation; features stay fp32
    # A reference of another resolution is not needed for IS, but still earns a warning.
    reference_64px = ReferenceStats(
        np.zeros(2048),
        np.eye(2048),
        metadata={"weights_sha256": extractor.weights_sha256, "resize_mode": "tf_bilinear", "resolution": 64},
    )
    with pytest.warns(UserWarning, match="64px images but the generator makes 32px"):
        report = evaluate_pipeline(
            pipe,
            num_samples=2,
            reference=reference_64px,
            metrics=["is"],
            batch_size=2,
            inception=extractor,
            progress=False,
            truncation=0.5,
        )
    assert set(report["nonstandard_metrics"]) == {"is_mean", "is_std"}
    assert report["truncation"] == 0.5 and report["reference"] == "<in memory>" and report["dtype"] == "bf16"
    with pytest.raises(ValueError, match="class-conditional"):
        evaluate_pipeline(
            pipe,
            num_samples=3,
            reference=ReferenceStats(
                np.zeros(2048), np.eye(2048), features=np.zeros((3, 2048)), labels=np.zeros(3, np.int64)
            ),
            metrics="fid",
            per_class_fid=True,
            inception=extractor,
            progress=False,
        )


def test_bad_requests_are_refused_with_clear_messages(extractor, shapes_reference):
    pipe = tiny_pipeline()
    with pytest.raises(ValueError, match="need reference statistics"):
        evaluate_pipeline(pipe, num_samples=4, reference=None, metrics="fid", inception=extractor)
    no_features = ReferenceStats(
        shapes_reference.mu, shapes_reference.sigma, metadata=shapes_reference.metadata
    )
    with pytest.raises(ValueError, match="--keep_features"):
        evaluate_pipeline(pipe, num_samples=4, reference=no_features, metrics="fid,kid", inception=extractor)
    with pytest.raises(ValueError, match="subset of"):
        parse_metrics("fid,lpips")
    with pytest.raises(ValueError, match="num_samples"):
        evaluate_pipeline(pipe, num_samples=1, reference=None, metrics="is", inception=extractor)
    with pytest.raises(ValueError, match="must be numbers"):
        _report_with_metrics({"per_class_fid": {"0": 1.0}})
    with pytest.raises(ValueError, match="unknown metric names"):
        _report_with_metrics({"fid_score": 1.0})


def test_command_line_end_to_end(weights_file, tmp_path, monkeypatch):
    """The scripts' main functions, with the test file standing in for the standard weights."""
    monkeypatch.setattr(weights_module, "WEIGHTS_SHA256", sha256_of_file(weights_file))
    pipeline_dir = tmp_path / "pipe"
    tiny_pipeline().save_pretrained(pipeline_dir)
    reference = tmp_path / "ref.npz"
    assert reference_command.main(
        [
            "--dataset_name",
            "shapes",
            "--resolution",
            "32",
            "--max_images",
            "3",
            "--batch_size",
            "3",
            "--keep_features",
            "--output",
            str(reference),
            "--inception_weights",
            str(weights_file),
            "--device",
            "cpu",
            "--no_progress",
        ]
    ) == 0
    output = tmp_path / "out" / "report.json"
    assert evaluate_command.main(
        [
            "--pipeline",
            str(pipeline_dir),
            "--num_samples",
            "3",
            "--reference",
            str(reference),
            "--metrics",
            "fid,is,kid",
            "--batch_size",
            "2",
            "--seed",
            "1",
            "--output",
            str(output),
            "--inception_weights",
            str(weights_file),
            "--device",
            "cpu",
            "--no_progress",
        ]
    ) == 0
    report = json.loads(output.read_text())
    assert set(report) == REPORT_FIELDS | {"pipeline"}
    assert set(report["metrics"]) == {"fid", "is_mean", "is_std", "kid_mean", "kid_std"}
    assert report["metrics"]["fid"] > 0 and report["standard_weights"] is True
    assert report["inception_weights_sha256"] == sha256_of_file(weights_file)
    assert report["reference"] == str(reference) and report["reference_metadata"]["num_images"] == 3
    assert (
        report["resize_mode"] == "tf_bilinear" and report["dtype"] == "fp32" and report["truncation"] is None
    )
    assert {"torch", "numpy", "diffusers", "python"} <= set(report["versions"])
    assert tracker_scores(report, prefix="val/")["val/fid"] == report["metrics"]["fid"]


@pytest.mark.slow
def test_evaluate_script_refuses_without_standard_weights(tmp_path):
    # A real pipeline and metrics that need no reference: the weights are the only thing missing, so
    # the refusal comes from them; the report must not be written, where it was asked for nor by default.
    tiny_pipeline().save_pretrained(tmp_path / "pipe")
    output = tmp_path / "out" / "report.json"
    env = {"PATH": "/usr/bin:/bin", "TORCH_HOME": str(tmp_path / "torch_home"), "HOME": str(tmp_path),
           "PYTHONPATH": str(REPO / "src")}  # this checkout's code, whatever is installed
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "evaluate.py"),
            "--pipeline",
            str(tmp_path / "pipe"),
            "--num_samples",
            "4",
            "--metrics",
            "is",
            "--output",
            str(output),
            "--no_download",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "pt_inception-2015-12-05-6726825d.pth" in result.stderr
    assert "--inception_weights" in result.stderr and "SAGAN_INCEPTION_WEIGHTS" in result.stderr
    assert not output.exists() and not (tmp_path / "report.json").exists()
    assert not (tmp_path / "out").exists()


def _report_with_metrics(metrics: dict) -> dict:
    return build_report(
        metrics, num_samples=2, weights_sha256="x", standard_weights=True, resize_mode="tf_bilinear",
        reference=None, reference_metadata=None, seed=0, truncation=None, dtype="fp32",
    )
