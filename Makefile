# Both targets set themselves up from scratch: a fresh clone needs only python3.
VENV := .venv
PY := $(VENV)/bin/python

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The browser suite drives Debian's Chromium; CJK fonts keep screenshots legible;
# iproute2 gives the remote-client test its own network namespace.
BROWSER_PACKAGES := chromium fonts-wqy-zenhei iproute2

.PHONY: run test clean browser-deps

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.run-installed
	$(PY) -m bot serve --demo

browser-deps:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BROWSER_PACKAGES); }

test: $(VENV)/.test-installed browser-deps
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) test-artifacts
