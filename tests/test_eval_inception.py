"""The FID Inception network, its weights (look-up, hash check, refusal) and the resize protocols."""

import functools
import http.server
import os
import socket
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_hf.evaluation import (
    FIDInceptionV3,
    InceptionWeightsError,
    load_fid_inception,
    load_inception_extractor,
    weights,
)
from sagan_hf.evaluation.resize import (
    clean_pil_bicubic_resize,
    quantize_to_uint8_range,
    resize_pixels,
    tf_bilinear_resize,
)
from sagan_hf.evaluation.standard_weights_spec import (
    WEIGHTS_FILENAME,
    WEIGHTS_SHA256,
    standard_state_dict_shapes,
)
from inception_weights import save_random_inception_weights
from sagan_hf.evaluation.weights import WEIGHTS_ENV_VAR, hub_cache_weights_path, sha256_of_file

# Read before the autouse fixture below hides the variable from every test.
REAL_WEIGHTS = os.environ.get(WEIGHTS_ENV_VAR, "")


@pytest.fixture(autouse=True)
def isolated_weight_lookup(tmp_path, monkeypatch):
    """No weights from the environment or a real torch hub cache leak into these tests."""
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    return save_random_inception_weights(tmp_path_factory.mktemp("weights") / "random_inception.pth", seed=0)


def test_module_has_exactly_the_keys_and_shapes_of_the_standard_file():
    state = FIDInceptionV3().state_dict()
    expected = standard_state_dict_shapes()
    assert set(state) == set(expected)
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    assert len(expected) == 94 * 6 + 2  # 94 conv+BN units (conv weight + 5 BN tensors) and the fc


def test_standard_file_layout_is_consistent_with_its_published_size():
    # 95,628,359 bytes hold the float32 tensors plus pickle overhead: the layout must fit just under it.
    num_floats = sum(int(np.prod(s)) for k, s in standard_state_dict_shapes().items() if s)
    assert 95_628_359 - 200_000 < num_floats * 4 < 95_628_359


def test_legacy_format_file_loads_and_matches_the_published_size(tmp_path):
    # The standard file dates from 2019 (pre-zip torch.save). The same layout saved that way loads with
    # weights_only=True and comes within 0.1% of the published 95,628,359 bytes.
    path = save_random_inception_weights(tmp_path / "legacy.pth", legacy_format=True)
    assert abs(path.stat().st_size - 95_628_359) < 95_628_359 * 1e-3
    network, info = load_fid_inception(path, allow_nonstandard_weights=True)
    assert not info.standard and isinstance(network, FIDInceptionV3)


def test_fid_specific_blocks():
    network = FIDInceptionV3()
    assert all(m.eps == 0.001 for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert network.Mixed_7b.pool == "avg" and network.Mixed_7c.pool == "max"
    # count_include_pad=False: a constant map stays constant through the A block's pool at the border.
    x = torch.ones(1, 192, 5, 5)
    pooled = torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    from sagan_hf.evaluation.inception import _avg_pool_same

    assert torch.equal(_avg_pool_same(x), pooled) and torch.all(pooled == 1)


def test_random_weights_load_marked_not_standard_and_give_the_right_shapes(random_weights):
    extractor = load_inception_extractor(random_weights, allow_nonstandard_weights=True, device="cpu")
    assert extractor.standard_weights is False
    assert extractor.weights_sha256 == sha256_of_file(random_weights) != WEIGHTS_SHA256
    images = torch.rand(2, 3, 32, 32)
    features, logits = extractor(images)
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    assert features.dtype == torch.float32 and torch.all(features >= 0)  # ReLU then average pool
    assert not torch.allclose(features[0], features[1])
    # Logits are the bias-free ones; with_bias adds fc.bias.
    net = extractor.network
    torch.testing.assert_close(logits, features @ net.fc.weight.t())
    torch.testing.assert_close(net.logits(features, with_bias=True), logits + net.fc.bias)
    # uint8 input gives the same as the equivalent float input; bf16 input is computed in fp32.
    as_uint8 = (images[:1] * 255).round().to(torch.uint8)
    torch.testing.assert_close(extractor(as_uint8)[0], features[:1])
    assert extractor(images[:1].to(torch.bfloat16))[0].dtype == torch.float32
    # The clean-fid resize goes through the same network and gives other (close) features.
    bicubic = load_inception_extractor(
        random_weights, resize_mode="clean_pil_bicubic", allow_nonstandard_weights=True, device="cpu"
    )
    bicubic_features = bicubic(images[:1])[0]
    assert bicubic_features.shape == (1, 2048) and not torch.equal(bicubic_features, features[:1])


def test_refuses_random_weights_without_the_escape_hatch(random_weights):
    with pytest.raises(InceptionWeightsError) as info:
        load_fid_inception(random_weights)
    message = str(info.value)
    assert "not the standard FID Inception weights" in message
    assert WEIGHTS_SHA256 in message and "--inception_weights" in message and "curl" in message


def test_refuses_when_no_weights_and_no_download(tmp_path):
    with pytest.raises(InceptionWeightsError, match="none in the torch hub cache") as info:
        load_inception_extractor(download=False)
    assert str(hub_cache_weights_path().parent) in str(info.value)
    assert str(tmp_path) in str(hub_cache_weights_path())


def test_refuses_clearly_when_the_download_fails(monkeypatch):
    with socket.socket() as sock:  # a loopback port nobody listens on: the download fails at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(InceptionWeightsError, match="Could not download") as info:
        weights.resolve_weights_path(url=f"http://127.0.0.1:{port}/{WEIGHTS_FILENAME}")
    assert "SAGAN_INCEPTION_WEIGHTS" in str(info.value)
    assert not hub_cache_weights_path().exists()


def test_a_downloaded_file_with_the_wrong_hash_is_removed_and_refused(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / WEIGHTS_FILENAME).write_bytes(b"not the inception weights")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{WEIGHTS_FILENAME}"
        with pytest.raises(InceptionWeightsError, match="has SHA-256"):
            weights.resolve_weights_path(url=url)
    finally:
        server.shutdown()
        server.server_close()
    assert not hub_cache_weights_path().exists()


def test_lookup_order_env_var_then_hub_cache(random_weights, monkeypatch):
    with pytest.raises(InceptionWeightsError, match="not found"):
        load_fid_inception("/nonexistent/weights.pth")
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(random_weights))
    _, info = load_fid_inception(allow_nonstandard_weights=True)
    assert info.path == str(random_weights) and not info.standard
    monkeypatch.delenv(WEIGHTS_ENV_VAR)
    cached = hub_cache_weights_path()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(random_weights.read_bytes())
    _, info = load_fid_inception(allow_nonstandard_weights=True, download=False)
    assert info.path == str(cached)


def test_refuses_a_file_with_the_wrong_layout(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, path)
    with pytest.raises(InceptionWeightsError, match="not an FID Inception-v3 state dict"):
        load_fid_inception(path, allow_nonstandard_weights=True)


@pytest.mark.skipif(
    not REAL_WEIGHTS,
    reason="needs the real pt_inception-2015-12-05-6726825d.pth: set SAGAN_INCEPTION_WEIGHTS",
)
def test_real_standard_weights():
    extractor = load_inception_extractor(REAL_WEIGHTS, device="cpu")
    assert extractor.standard_weights and extractor.weights_sha256 == WEIGHTS_SHA256
    features, logits = extractor(torch.rand(2, 3, 64, 64))
    assert torch.all(features >= 0) and torch.isfinite(logits).all()
    # A flat grey image and a noise image must not give the same features.
    assert not torch.allclose(features[0], extractor(torch.full((1, 3, 64, 64), 0.5))[0][0])


# --- Resize protocols --------------------------------------------------------------------------------


def test_quantisation_rounds_to_8_bit_values():
    x = torch.tensor([0.0, 0.5, 1.0, 1.2, -0.1, 0.0019, 0.002]).view(1, 1, 1, -1)
    assert quantize_to_uint8_range(x).flatten().tolist() == [0, 128, 255, 255, 0, 0, 1]
    with pytest.raises(ValueError, match="uint8 or floating"):
        quantize_to_uint8_range(torch.ones(1, 3, 2, 2, dtype=torch.int32))


def test_tf_bilinear_uses_tf1_legacy_sampling():
    # TF1 (no half-pixel centres): output j samples input j * in / out; the last pixels repeat.
    row = torch.tensor([0.0, 10.0]).view(1, 1, 1, 2).expand(1, 1, 2, 2).contiguous()
    up = tf_bilinear_resize(row, 4)
    assert up[0, 0, 0].tolist() == [0.0, 5.0, 10.0, 10.0]
    # PyTorch's half-pixel bilinear gives something else, so this is a real difference.
    torch_up = torch.nn.functional.interpolate(row, size=4, mode="bilinear", align_corners=False)
    assert not torch.allclose(torch_up, up)
    x = torch.rand(1, 3, 9, 9) * 255
    torch.testing.assert_close(tf_bilinear_resize(x, 9), x)  # same size: identity
    torch.testing.assert_close(tf_bilinear_resize(x[..., :8, :8], 4), x[..., 0:8:2, 0:8:2])  # exact 2x down


def test_clean_bicubic_matches_pil_per_channel():
    x = torch.rand(1, 3, 16, 16) * 255
    out = clean_pil_bicubic_resize(x, 40)
    channel = Image.fromarray(x[0, 1].numpy().astype(np.float32)).resize((40, 40), Image.Resampling.BICUBIC)
    np.testing.assert_allclose(out[0, 1].numpy(), np.clip(np.asarray(channel), 0, 255), rtol=1e-6)
    assert out.min() >= 0 and out.max() <= 255


def test_resize_rejects_unknown_mode_and_bad_shapes():
    with pytest.raises(ValueError, match="resize_mode"):
        resize_pixels(torch.zeros(1, 3, 4, 4), 8, "nearest")
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        resize_pixels(torch.zeros(3, 4, 4), 8, "tf_bilinear")
