# The two commands of this project (see README.md):
#   make demo   train a small SAGAN on the built-in `shapes` dataset (a fixed number of steps, 5-10
#               minutes on 2 CPU cores; CPU threads chosen by speed, see docs/training.md), then write sample grids
#               per class, attention maps and the class-accuracy figure
#   make test   run the test suite
# Both create the virtual environment they need (.venv) on first use.

PYTHON ?= python3
VENV ?= .venv
# A CPU build of torch on our machines; override (e.g. TORCH_SPEC="torch") to get a CUDA build.
TORCH_SPEC ?= torch==2.13.0
DEMO_DIR ?= runs/shapes-demo
BIN := $(VENV)/bin

.PHONY: install test demo clean-demo

$(BIN)/.sagan-hf-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test,tensorboard]"
	touch $@

install: $(BIN)/.sagan-hf-installed

# Two pytest workers (one CPU thread each, tests/conftest.py), a test file per worker at a time: module
# fixtures (a pushed repo, a trained run) are built once. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

demo: install
	@if [ -d "$(DEMO_DIR)" ]; then echo "removing the previous demo run in $(DEMO_DIR)"; rm -rf "$(DEMO_DIR)"; fi
	$(BIN)/sagan-hf demo --output_dir $(DEMO_DIR)

clean-demo:
	rm -rf $(DEMO_DIR)
