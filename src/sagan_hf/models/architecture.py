"""Width schedules of the SAGAN/BigGAN family and checks shared by both networks."""

# Generator widths as multiples of `ch`: the first entry is the 4x4 input of the first block, then one
# entry per up-block output. 128 is the SAGAN ImageNet model (1024@4..8, 512@16, 256@32, 128@64, 64@128);
# 64 and 256 follow BigGAN; 32 is the small-run schedule of the demo.
GENERATOR_MULTIPLIERS = {
    32: (4, 4, 2, 1),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
}

# Discriminator widths per block: every block but the last halves the resolution, the last one keeps
# 4x4. 128 is SAGAN's 64, 128, 256, 512, 1024, 1024.
DISCRIMINATOR_MULTIPLIERS = {
    32: (1, 2, 4, 4),
    64: (1, 2, 4, 8, 16),
    128: (1, 2, 4, 8, 16, 16),
    256: (1, 2, 4, 8, 8, 16, 16),
}


def resolve_multipliers(sample_size: int, channel_multipliers, table: dict, net: str) -> tuple[int, ...]:
    """The width schedule for `sample_size`: the given one, checked, or the default of the table."""
    if sample_size < 8 or sample_size & (sample_size - 1):
        raise ValueError(f"{net}: sample_size must be a power of two >= 8, got {sample_size}")
    expected_length = sample_size.bit_length() - 2  # log2(sample_size / 4) + 1
    if channel_multipliers is None:
        if sample_size not in table:
            raise ValueError(
                f"{net}: no default width schedule for sample_size={sample_size} (defaults exist for "
                f"{sorted(table)}); pass channel_multipliers with {expected_length} entries"
            )
        return table[sample_size]
    multipliers = tuple(int(m) for m in channel_multipliers)
    if len(multipliers) != expected_length or min(multipliers) < 1:
        raise ValueError(
            f"{net}: channel_multipliers for sample_size={sample_size} must be {expected_length} positive "
            f"integers, got {channel_multipliers}"
        )
    return multipliers


def check_attention_resolutions(attention_resolutions, allowed: dict[int, int], net: str) -> tuple[int, ...]:
    """Validate attention placements against {resolution: channels} of the feature maps that allow one."""
    resolutions = tuple(sorted({int(r) for r in attention_resolutions}))
    for resolution in resolutions:
        if resolution not in allowed:
            raise ValueError(
                f"{net}: attention_resolutions entry {resolution} is not a feature-map size of this "
                f"network; choose from {sorted(allowed)}"
            )
        if allowed[resolution] % 8:
            raise ValueError(
                f"{net}: attention at {resolution}x{resolution} needs a width divisible by 8, "
                f"got {allowed[resolution]} channels (raise ch)"
            )
    return resolutions
