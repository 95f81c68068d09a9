"""Convert a SAGAN-configured BigGAN-PyTorch run (ajbrock/BigGAN-PyTorch) into a SAGANPipeline folder.

    python scripts/convert_biggan_pytorch_checkpoint.py --weights_dir weights/my_run --output_dir sagan-my-run

The weights folder holds that code base's `G.pth`, `D.pth`, optionally `G_ema.pth` (used as the
pipeline's generator when present) and `state_dict.pth` (its `config` gives the architecture). Without
a config, the architecture is read from the flags, and whatever they leave open from the tensors'
names and shapes. Everything is read with `torch.load(weights_only=True)`; the output is safetensors.

The format, key by key (spectral-norm layers keep `weight`, `bias`, a `u0` vector of shape (1, out)
and a logging value `sv0`; conditional BatchNorm keeps (n_classes, C) `gain.weight` / `bias.weight`
tables with gain = 1 + table, and `stored_mean` / `stored_var`), how each key maps to ours and why the
converted networks give the same eval-mode outputs, is described in `sagan_hf.hub.convert_biggan` and
docs/convert_biggan.md. Load the result with `SAGANPipeline.from_pretrained(OUTPUT_DIR)`.
"""

import argparse
import logging

from sagan_hf.hub.convert_biggan import convert_biggan_checkpoint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--weights_dir", required=True, help="folder with G.pth, D.pth [, G_ema.pth, state_dict.pth]"
    )
    parser.add_argument("--output_dir", required=True, help="where to write the pipeline folder")
    parser.add_argument("--resolution", type=int, help="image side: 32, 64, 128 or 256")
    parser.add_argument("--ch", type=int, help="base width of G and D (their G_ch / D_ch)")
    parser.add_argument("--attention_resolutions", help="attention sides of G and D: 64, 32_64, 0 (none)")
    parser.add_argument("--num_classes", type=int, help="number of classes (their n_classes)")
    parser.add_argument("--z_dim", type=int, help="latent size (their dim_z)")
    parser.add_argument("--sn_eps", type=float, help="their SN_eps (default: the config's, else 1e-8)")
    parser.add_argument("--bn_eps", type=float, help="their BN_eps (default: the config's, else 1e-5)")
    parser.add_argument("--no_discriminator", action="store_true", help="convert the generator only")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        pipeline = convert_biggan_checkpoint(
            args.weights_dir,
            args.output_dir,
            resolution=args.resolution,
            ch=args.ch,
            attention_resolutions=args.attention_resolutions,
            num_classes=args.num_classes,
            z_dim=args.z_dim,
            sn_eps=args.sn_eps,
            bn_eps=args.bn_eps,
            include_discriminator=not args.no_discriminator,
        )
    except ValueError as error:  # bad input: the message says what is wrong, a traceback would not help
        raise SystemExit(f"error: {error}") from None
    config = pipeline.generator.config
    print(
        f"Wrote {args.output_dir}: {config.sample_size}x{config.sample_size}, {config.num_classes} classes, "
        f"ch={config.ch}, G attention at {list(config.attention_resolutions)}"
        + ("" if pipeline.discriminator is not None else " (generator only)")
    )


if __name__ == "__main__":
    main()
