# livecart: `make demo` runs the bot against the built-in Telegram simulator; `make test` runs
# every check CI runs. Both create .venv and install the pinned versions in requirements.lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCALES := locales
# The suite runs on two processes (pytest-xdist): CI has 2 CPUs and most tests wait on I/O.
PYTEST_WORKERS ?= 2

.PHONY: demo run screenshots test lint typecheck pytest browser bench lock locales-extract locales-update locales-compile clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(MAKE) --no-print-directory locales-compile
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/livecart demo

run: $(STAMP)
	$(BIN)/livecart run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict catalog/

pytest: $(STAMP) locales-compile browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint typecheck pytest

# The browser tests drive Debian's Chromium (never Playwright's downloads). Installed here when
# this runs as root with apt-get; otherwise those tests skip with the reason (fail under CI=true).
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -x "$${LIVECART_TEST_CHROMIUM:-/nonexistent}" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
		echo "could not install chromium: the browser tests will skip (fail under CI=true)"; \
	else echo "chromium is not installed (apt-get install chromium): the browser tests will skip"; fi

# docs/screenshots/*.png for the README: a short story on the demo page (and the campaign
# console when there is one) in headless Chromium. Korean and emoji need fonts-nanum (or
# fonts-noto-cjk) and fonts-noto-color-emoji.
screenshots: $(STAMP) browser
	$(BIN)/python scripts/screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/flash_sale.py
	$(BIN)/python bench/browse.py
	$(BIN)/python bench/qr.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/stock_sync.py
	$(BIN)/python bench/flash_sale_bot.py

# Regenerate the lock from pyproject.toml in a throw-away venv (run after changing dependencies).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip>=24" setuptools wheel
	.lock-venv/bin/python -m pip install --quiet ".[test]"
	.lock-venv/bin/python -m pip freeze --all --exclude-editable | grep -v -E "^(pip|livecart)[= ]" > requirements.lock
	rm -rf .lock-venv

locales-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k __ -k N_ -k ngettext:1,2 -k lazy_gettext \
		--project=livecart --msgid-bugs-address=dev@livecart.invalid --sort-output \
		-o $(LOCALES)/messages.pot bot webhook catalog livecart

locales-update: locales-extract
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --no-fuzzy-matching

locales-compile:
	@if ls $(LOCALES)/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d $(LOCALES) -D messages --statistics -f 2>&1 | grep -v '^$$' || true; fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
