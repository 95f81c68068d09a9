"""What the standard FID Inception weights file is: its name, source, hash, and every tensor in it.

The tensor list is written out here on its own (not derived from the module) so that a test can
check that :class:`~sagan_hf.evaluation.inception.FIDInceptionV3` has exactly the keys and shapes of
the file, which we cannot download on machines without internet.
"""

from __future__ import annotations

WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILENAME
# Full SHA-256 of the file; its first 8 hex digits are the '6726825d' in the name (torch.hub style).
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
WEIGHTS_NUM_BYTES = 95_628_359

# Every conv + batch-norm unit of the file: (name, in_channels, out_channels, kernel_h, kernel_w).
_CONV_UNITS: tuple[tuple[str, int, int, int, int], ...] = (
    ("Conv2d_1a_3x3", 3, 32, 3, 3),
    ("Conv2d_2a_3x3", 32, 32, 3, 3),
    ("Conv2d_2b_3x3", 32, 64, 3, 3),
    ("Conv2d_3b_1x1", 64, 80, 1, 1),
    ("Conv2d_4a_3x3", 80, 192, 3, 3),
    # Mixed_5b/5c/5d: A blocks with 192, 256, 288 inputs and 32, 64, 64 pool features.
    *(
        unit
        for block, cin, pool in (("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64))
        for unit in (
            (f"{block}.branch1x1", cin, 64, 1, 1),
            (f"{block}.branch5x5_1", cin, 48, 1, 1),
            (f"{block}.branch5x5_2", 48, 64, 5, 5),
            (f"{block}.branch3x3dbl_1", cin, 64, 1, 1),
            (f"{block}.branch3x3dbl_2", 64, 96, 3, 3),
            (f"{block}.branch3x3dbl_3", 96, 96, 3, 3),
            (f"{block}.branch_pool", cin, pool, 1, 1),
        )
    ),
    ("Mixed_6a.branch3x3", 288, 384, 3, 3),
    ("Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1),
    ("Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3),
    ("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3),
    # Mixed_6b..6e: C blocks with 128, 160, 160, 192 channels in the factorised 7x7 towers.
    *(
        unit
        for block, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192))
        for unit in (
            (f"{block}.branch1x1", 768, 192, 1, 1),
            (f"{block}.branch7x7_1", 768, c7, 1, 1),
            (f"{block}.branch7x7_2", c7, c7, 1, 7),
            (f"{block}.branch7x7_3", c7, 192, 7, 1),
            (f"{block}.branch7x7dbl_1", 768, c7, 1, 1),
            (f"{block}.branch7x7dbl_2", c7, c7, 7, 1),
            (f"{block}.branch7x7dbl_3", c7, c7, 1, 7),
            (f"{block}.branch7x7dbl_4", c7, c7, 7, 1),
            (f"{block}.branch7x7dbl_5", c7, 192, 1, 7),
            (f"{block}.branch_pool", 768, 192, 1, 1),
        )
    ),
    ("Mixed_7a.branch3x3_1", 768, 192, 1, 1),
    ("Mixed_7a.branch3x3_2", 192, 320, 3, 3),
    ("Mixed_7a.branch7x7x3_1", 768, 192, 1, 1),
    ("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7),
    ("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1),
    ("Mixed_7a.branch7x7x3_4", 192, 192, 3, 3),
    # Mixed_7b/7c: E blocks with 1280 and 2048 inputs.
    *(
        unit
        for block, cin in (("Mixed_7b", 1280), ("Mixed_7c", 2048))
        for unit in (
            (f"{block}.branch1x1", cin, 320, 1, 1),
            (f"{block}.branch3x3_1", cin, 384, 1, 1),
            (f"{block}.branch3x3_2a", 384, 384, 1, 3),
            (f"{block}.branch3x3_2b", 384, 384, 3, 1),
            (f"{block}.branch3x3dbl_1", cin, 448, 1, 1),
            (f"{block}.branch3x3dbl_2", 448, 384, 3, 3),
            (f"{block}.branch3x3dbl_3a", 384, 384, 1, 3),
            (f"{block}.branch3x3dbl_3b", 384, 384, 3, 1),
            (f"{block}.branch_pool", cin, 192, 1, 1),
        )
    ),
)


def standard_state_dict_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of every tensor in the standard weights file (94 conv+BN units and the fc)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for name, cin, cout, kh, kw in _CONV_UNITS:
        shapes[f"{name}.conv.weight"] = (cout, cin, kh, kw)
        for stat in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.bn.{stat}"] = (cout,)
        # The file was saved by a PyTorch that tracks batch counts: one scalar per BN.
        shapes[f"{name}.bn.num_batches_tracked"] = ()
    shapes["fc.weight"] = (1008, 2048)
    shapes["fc.bias"] = (1008,)
    return shapes
