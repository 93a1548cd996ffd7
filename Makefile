# Both targets set themselves up from scratch: a fresh clone needs only python3.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test clean

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

test: $(VENV)/.test-installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) test-artifacts
