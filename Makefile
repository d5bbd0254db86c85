# OpenLoRA task runner. `make test` and `make demo` create .venv and install everything on first use;
# later runs skip the install unless pyproject.toml (or the set of package files) changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch this project is tested with (pip finds it on the CI machine's disk).
TORCH_PIN := torch==2.13.0
# A strict editable install links each package file into build/, so import-linter can see the
# `openlora` namespace; a new file therefore needs a (quick, no-deps) re-link.
EDITABLE := --config-settings editable_mode=strict
PKG_DIRS := agent advisor chat tools trainer memory prompts tui cli evaluation synthesis observability
PKG_FILES := $(shell find $(PKG_DIRS) -type f \( -name '*.py' -o -name '*.txt' -o -name '*.md' -o -name '*.tcss' \) 2>/dev/null | sort)

.PHONY: install test lint demo clean FORCE

install: $(VENV)/.linked

$(VENV)/.deps: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_PIN)
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip install --quiet -e '.[dev]' $(EDITABLE)
	touch $@

$(VENV)/.pkgfiles: FORCE
	@mkdir -p $(VENV)
	@echo '$(PKG_FILES)' | cmp -s - $@ || echo '$(PKG_FILES)' > $@

$(VENV)/.linked: $(VENV)/.deps $(VENV)/.pkgfiles
	$(BIN)/pip install --quiet --no-deps -e . $(EDITABLE)
	touch $@

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

demo: install
	$(BIN)/openlora-agent run examples/rescue/goal.yaml --runs runs

clean:
	rm -rf $(VENV) build runs .pytest_cache
