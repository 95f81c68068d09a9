"""Training: data streams, losses, EMA and the Accelerate loop (import the submodules you need)."""
