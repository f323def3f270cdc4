# Two commands do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# flags and output of `make street-adapter`, e.g. STREET_FLAGS="--full-size-from 100" (README: counting accuracy)
STREET_FLAGS ?=
STREET_OUT ?= street-adapter.npz

.PHONY: demo test setup setup-dev bench correction-fit street-adapter street-npz clean

$(VENV)/.run-ready: pyproject.toml scripts/bootstrap.sh
	VENV=$(VENV) scripts/bootstrap.sh run
	touch $@

$(VENV)/.dev-ready: pyproject.toml scripts/bootstrap.sh
	VENV=$(VENV) scripts/bootstrap.sh dev
	touch $@ $(VENV)/.run-ready

setup: $(VENV)/.run-ready
setup-dev: $(VENV)/.dev-ready

demo: $(VENV)/.run-ready
	$(PY) -m monitor demo

# pytest exits 5 when it collected no tests: that is not a failure of the suite.
test: $(VENV)/.dev-ready
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

bench: $(VENV)/.dev-ready
	$(PY) -m monitor bench

# csrnet-0.2's map correction and auto's thresholds, fitted on the training splits of ../shared/data
# (engines/correction.py says how; about 8 minutes at fp32 on 2 cores, then seconds on a rerun).
correction-fit: $(VENV)/.dev-ready
	$(PY) bench/fit_correction.py

# A street adapter (README: counting accuracy) from ../shared/data, every picture at all three sizes:
# about 20 minutes with AVX-512 BF16, 14 GB of features on disk while it runs.  Writes $(STREET_OUT)
# (after every epoch, then with the held-back report); use it with model.adapter.
street-adapter: $(VENV)/.dev-ready
	$(VENV)/bin/crowd-monitor train ../shared/data --street-adapter $(STREET_FLAGS) --out $(STREET_OUT)

# The shipped street adapter, engines/data/street.npz, the default (model.adapter: auto or street): crowds
# trained at full size only, 6 epochs (chosen on the held-back training pictures).  About 30 minutes on
# a 2-core CPU with AMX/AVX-512 BF16; about 2 h 20 min on a 2-core AVX2 CPU (README: counting accuracy).
street-npz:
	$(MAKE) street-adapter STREET_FLAGS="--full-size-from 100 --epochs 6" STREET_OUT=engines/data/street.npz

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
