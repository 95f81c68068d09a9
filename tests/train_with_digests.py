#!/usr/bin/env python
"""`sagan-hf train` plus a callback that writes, per rank, fingerprints of the images it trained on
and of its final weights (rank_digests/rank{N}.json): the multi-process tests compare them."""

import hashlib
import json
import sys

from sagan_hf.cli.train import config_from_args
from sagan_hf.training import TrainCallback, train


def digest(tensors) -> str:
    sha = hashlib.sha256()
    for tensor in tensors:
        sha.update(tensor.detach().float().cpu().numpy().tobytes())
    return sha.hexdigest()


class RankDigests(TrainCallback):
    def __init__(self):
        self.images: list[str] = []

    def on_batches(self, batches, step):
        self.images.extend(digest([image]) for batch in batches for image in batch["pixel_values"])

    def on_train_end(self, *, generator, discriminator, global_step, rank, output_dir):
        record = {
            "images": self.images,
            "generator": digest(generator.parameters()),
            "discriminator": digest(discriminator.parameters()),
            "final_step": global_step,
        }
        folder = output_dir / "rank_digests"
        folder.mkdir(exist_ok=True)
        (folder / f"rank{rank}.json").write_text(json.dumps(record), encoding="utf-8")


if __name__ == "__main__":
    train(config_from_args(sys.argv[1:]), callbacks=[RankDigests()])
