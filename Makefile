# Two commands on a fresh machine: `make run` starts the app on the demo, `make test` runs
# the whole suite. Both create .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint format data bench bench-load fuzz clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m streamlit run app.py --server.port $(PORT)

# on both cores (pytest-xdist): the engine and page tests, then the browser tests (a server
# per worker, one test file per worker), so browsers never share the cores with simulations
test: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadfile --ignore=tests/browser
	$(PY) -m pytest -n 2 --dist loadfile tests/browser

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed-test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

data: $(VENV)/.installed
	$(PY) -m sample_data.generate

$(VENV)/.installed-bench: $(VENV)/.installed-test requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) -m bench.run

# 10,000 random CSV files through abcore.analyze: nothing but InputError (about 7 minutes)
fuzz: $(VENV)/.installed-test
	ABCORE_FUZZ_EXAMPLES=10000 $(PY) -m pytest tests/test_fuzz_csv.py -q -p no:cacheprovider

# ten browser sessions through the whole flow, timings printed (tests/browser/test_load.py)
bench-load: $(VENV)/.installed-test
	ABCORE_LOAD_SESSIONS=10 $(PY) -m pytest tests/browser/test_load.py -s -q -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
