# ELEN 521 grader. Everything runs inside .venv, made from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ASSIGNMENT ?= cnn-detection
STUDENTS   ?= 30
# KaTeX for the preview site, unpacked from the npm package (no CDN): grader/export/preview.py
KATEX_VERSION := 0.19.1
KATEX         := grader/export/static/katex
# configurable-http-proxy, JupyterHub's proxy, for the hub browser tests (tests/hub_kit.py)
CHP_VERSION := 5.3.0
CHP         := .node/node_modules/.bin/configurable-http-proxy

.PHONY: install demo test bench bench-personalize bench-cluster bench-integrity bench-checks validate qa render release preview clean

install: $(STAMP) $(KATEX)/katex.min.js $(CHP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(KATEX)/katex.min.js:
	rm -rf $(KATEX) && mkdir -p $(KATEX)
	cd $(KATEX) && npm pack --silent katex@$(KATEX_VERSION) > /dev/null \
	  && tar -xzf katex-$(KATEX_VERSION).tgz --strip-components=2 package/dist && rm katex-$(KATEX_VERSION).tgz

# --prefix would also move npm's global config (its cafile) to .node/etc/npmrc: keep the machine's
$(CHP):
	npm install --silent --no-save --no-audit --no-fund --globalconfig "$$(npm config get globalconfig)" \
	  --prefix .node configurable-http-proxy@$(CHP_VERSION)

## The main job, end to end, on the embedded SQLite gradebook.
demo: $(STAMP) $(KATEX)/katex.min.js
	$(PY) -m grader demo --assignment $(ASSIGNMENT) --students $(STUDENTS)

test: $(STAMP) $(KATEX)/katex.min.js $(CHP)
	$(PY) -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(PY) -m grader.devtools bench --assignment $(ASSIGNMENT) --students 60

## Personalizing $(ASSIGNMENT) for 300 students (release --per-student without writing the course): prints the time.
bench-personalize: $(STAMP)
	$(PY) -m grader.devtools bench-personalize --assignment $(ASSIGNMENT) --students 300

## Local workers against a Dask LocalCluster of 1 and 2 workers, on SQLite and a private PostgreSQL.
bench-cluster: $(STAMP)
	$(PY) -m grader.devtools bench-cluster --assignment $(ASSIGNMENT) --students $(STUDENTS)

## Simulated classes with known copying through grader/integrity.py: recall, precision, direction, false positives.
bench-integrity: $(STAMP)
	$(PY) -m grader.devtools bench-integrity --students 60

## Simulated students checking answers against a running check service (serve-checks --no-hub): checks/s, p50/p99, vs a kernel.
bench-checks: $(STAMP)
	$(PY) -m grader.devtools bench-checks --assignment $(ASSIGNMENT) --students 200

validate: $(STAMP)
	$(PY) -m grader validate

qa: $(STAMP)
	$(PY) -m grader qa

## The instructors' preview site (answers included: never under release/), then open preview/index.html.
preview: $(STAMP) $(KATEX)/katex.min.js
	$(PY) -m grader preview $(ASSIGNMENT) --variants 20

render: $(STAMP)
	$(PY) -m grader render

release: $(STAMP)
	$(PY) -m grader release

## Removes only what the demo and the bench made; a course's submissions, grades and gradebook stay.
clean:
	rm -rf demo bench-out
