"""The SAGAN checkpoints MMGeneration published (its `configs/sagan/README.md`), recognised by SHA-256.

MMGeneration names each published file `<name>_<date>_<time>-<first 8 hex digits of its SHA-256>.pth`,
so a file is recognised by its content whatever it is called locally. Each entry holds the facts of
its config that the weights do not show (BatchNorm epsilon, in-place ReLU in D, colour order) and the
scores MMGeneration reported for it: 50,000 samples, its StyleGAN-port Inception ("Tero's"), PIL
bicubic resize, FID against statistics of the whole training set.
"""

from __future__ import annotations

from ..core import PublishedCheckpoint, SourceProject

PROJECT = SourceProject("MMGeneration", "https://github.com/open-mmlab/mmgeneration", "apache-2.0")
DOWNLOAD_ROOT = "https://download.openmmlab.com/mmgen/sagan/"
_PROTOCOL = ("MMGeneration's evaluation: 50,000 samples, StyleGAN-port Inception, PIL bicubic resize, FID "
             "against the whole training set")
_STUDIO_PROTOCOL = _PROTOCOL + "; StudioGAN reported IS {is_} / FID {fid} for the same weights with its own protocol"
_PLAIN = {"generator": "plain (no EMA copy in the file)", "truncation": None, "standing_statistics": False}
_CIFAR = dict(dataset="CIFAR-10", resolution=32, num_classes=10)
_IMAGENET = dict(dataset="ImageNet-1k", resolution=128, num_classes=1000)


def _entry(file: str, scores: tuple[float, float], facts: dict, protocol: str = _PROTOCOL, sampling=None, **data):
    return PublishedCheckpoint(
        file=file, url=DOWNLOAD_ROOT + file, scores={"IS": scores[0], "FID": scores[1]}, scores_protocol=protocol,
        sampling=dict(sampling or _PLAIN), facts=facts, **data,
    )


# Facts of the configs: BGR training data everywhere except the StudioGAN conversions (RGB); BN eps 1e-4
# (MMGeneration's default) except the BigGAN-schedule config (1e-5); in-place ReLU in the D of the
# `wReLUinplace` configs and of StudioGAN's own networks.
_BGR, _RGB = {"color_order": "bgr"}, {"color_order": "rgb"}
_EPS4, _EPS5 = {"bn_eps": 1e-4}, {"bn_eps": 1e-5}
PUBLISHED = {
    entry.file.rsplit("-", 1)[1][:8]: entry
    for entry in (
        _entry("sagan_cifar10_32_lr2e-4_ndisc5_b64x1_woReUinplace_is-iter400000_20210730_125743-4008a9ca.pth",
               (9.3217, 10.5030), {**_BGR, **_EPS4, "discriminator_inplace_relu": False}, **_CIFAR),
        _entry("sagan_cifar10_32_lr2e-4_ndisc5_b64x1_woReUinplace_fid-iter480000_20210730_125449-d50568a4.pth",
               (9.3174, 9.4252), {**_BGR, **_EPS4, "discriminator_inplace_relu": False}, **_CIFAR),
        _entry("sagan_cifar10_32_lr2e-4_ndisc5_b64x1_wReLUinplace_is-iter380000_20210730_124937-c77b4d25.pth",
               (9.2286, 11.7760), {**_BGR, **_EPS4, "discriminator_inplace_relu": True}, **_CIFAR),
        _entry("sagan_cifar10_32_lr2e-4_ndisc5_b64x1_wReLUinplace_fid-iter460000_20210730_125155-cbefb354.pth",
               (9.2061, 10.7781), {**_BGR, **_EPS4, "discriminator_inplace_relu": True}, **_CIFAR),
        _entry("sagan_imagenet1k_128_Glr1e-4_Dlr4e-4_ndisc1_b32x4_woReLUinplace_is-iter980000_20210730_163140-cfbebfc6.pth",
               (31.5938, 36.7712), {**_BGR, **_EPS4, "discriminator_inplace_relu": False}, **_IMAGENET),
        _entry("sagan_imagenet1k_128_Glr1e-4_Dlr4e-4_ndisc1_b32x4_woReLUinplace_fid-iter950000_20210730_163431-d7916963.pth",
               (28.4936, 34.7838), {**_BGR, **_EPS4, "discriminator_inplace_relu": False}, **_IMAGENET),
        _entry("sagan_128_woReLUinplace_noaug_bigGAN_imagenet1k_b32x8_Glr1e-4_Dlr-4e-4_ndisc1_20210818_210232-3f5686af.pth",
               (69.5350, 12.8295), {**_BGR, **_EPS5, "discriminator_inplace_relu": False},
               sampling={"generator": "EMA (generator_ema)", "truncation": None, "standing_statistics": False},
               **_IMAGENET),
        _entry("sagan_32_cifar10_convert-studio-rgb_20210730_153321-080da7e2.pth",
               (9.116, 10.2011), {**_RGB, **_EPS4, "discriminator_inplace_relu": True},
               protocol=_STUDIO_PROTOCOL.format(is_=8.680, fid=14.009), **_CIFAR),
        _entry("sagan_128_imagenet1k_convert-studio-rgb_20210730_153357-eddb0d1d.pth",
               (27.367, 40.1162), {**_RGB, **_EPS4, "discriminator_inplace_relu": True},
               protocol=_STUDIO_PROTOCOL.format(is_=29.848, fid=34.726), **_IMAGENET),
    )
}


def find_published(sha256: str) -> PublishedCheckpoint | None:
    """The published checkpoint whose SHA-256 starts like `sha256`, if any."""
    return PUBLISHED.get(sha256[:8])
