"""Where each process continues reading after a resume, also with another number of processes.

The checkpoint holds every old rank's position: the unfinished shares it was reading (`Share`) and
the pass its own reading continues at. With the same number of processes each rank simply takes its
own position back. With another number, the positions are re-derived (the new processes each compute
the same plan from the same files):

1. Every unfinished share of every old rank is collected, plus the shares of passes an old rank had
   not begun yet while another had (uneven shards put ranks up to a pass apart): together they are
   exactly the examples of the current pass(es) not read yet.
2. They are dealt out to the new processes: whole shares round-robin when there are at least as many
   shares as processes (2 -> 1, 8 -> 4); otherwise each share is split between several processes,
   each of which reads it in full and keeps every k-th example (1 -> 2, 4 -> 8).
3. When a process has finished its shares it starts the next pass in the new layout.

No example is read twice before that next pass (what the shuffle buffer held at the checkpoint is
lost, exactly as in any resume with a buffer). A share keeps the DataLoader worker count it was
read with, so an unfinished share is finished with the same worker count it began with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .shares import Share, buffer_input_shards_for

STATE_VERSION = 2


@dataclass
class ResumePlan:
    """What one rank reads after a resume: `shares` first, then normal passes from `next_epoch`."""

    shares: list[Share]
    next_epoch: int
    skipped_images: int
    next_worker: int = 0
    summary: str | None = None  # what was re-derived, for a warning (None: a plain resume)


def shares_of_state(state: dict) -> tuple[list[Share], int]:
    """The shares a saved rank state still has to read, and the pass its reading continues at after them."""
    if state.get("version") == 1:  # one share: this rank's part of the current pass
        workers = int(state["num_workers"])
        share = Share(
            epoch=int(state["epoch"]), world_size=int(state["world_size"]), rank=int(state["rank"]),
            num_workers=workers, buffer_input_shards=buffer_input_shards_for(workers),
            workers={int(w): {"state": s, "read": 0} for w, s in state["worker_states"].items()},
        )
        return [share], share.epoch + 1
    if state.get("version") == STATE_VERSION:
        return [Share.from_dict(record) for record in state["shares"]], int(state["next_epoch"])
    raise ValueError(f"not an ImageBatchStream state of version 1 or {STATE_VERSION}: {state!r:.200}")


def plan_resume(
    states: list[dict], world_size: int, rank: int, fresh_share: Callable[[int, int, int], Share]
) -> ResumePlan:
    """This rank's plan from every old rank's saved state (in rank order).

    `fresh_share(epoch, world_size, rank)` makes a not-yet-begun share of an old layout (with the worker
    count the new process will read it with).
    """
    if len(states) == world_size:
        own = states[rank]
        shares, next_epoch = shares_of_state(own)
        return ResumePlan(
            shares=[share for share in shares if not share.done], next_epoch=next_epoch,
            skipped_images=int(own.get("skipped_images", 0)), next_worker=int(own.get("next_worker", 0)),
        )

    unread: list[Share] = []
    positions = [shares_of_state(state) for state in states]
    next_epoch = max(after for _, after in positions)
    for state, (shares, after) in zip(states, positions):
        unread += [share for share in shares if not share.done]
        unread += [fresh_share(epoch, int(state["world_size"]), int(state["rank"])) for epoch in range(after, next_epoch)]
    unread.sort(key=lambda s: (s.epoch, s.world_size, s.stride, s.rank, s.offset))

    if not unread:
        mine, how = [], "none"
    elif len(unread) >= world_size:
        mine = unread[rank::world_size]
        how = "dealt out whole"
    else:
        parts = [world_size // len(unread) + (index < world_size % len(unread)) for index in range(len(unread))]
        mine = [[piece for share, count in zip(unread, parts) for piece in share.split(count)][rank]]
        how = "split between processes (each reads its share and keeps every k-th example)"
    passes = sorted({share.epoch for share in unread})
    summary = (
        f"the data position was saved by {len(states)} process(es) and is resumed by {world_size}: the "
        f"{len(unread)} unread share(s) of pass(es) {', '.join(map(str, passes))} are {how}, so no example is "
        f"read twice before pass {next_epoch} starts in the new layout; rank {rank} reads "
        f"{'; '.join(share.describe() for share in mine) or 'nothing of them'}"
    )
    total_skipped = sum(int(state.get("skipped_images", 0)) for state in states)
    return ResumePlan(
        shares=mine, next_epoch=next_epoch, skipped_images=total_skipped if rank == 0 else 0, summary=summary
    )
