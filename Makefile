# ELEN 521 grader. Everything runs inside .venv, made from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ASSIGNMENT ?= cnn-detection
STUDENTS   ?= 30

.PHONY: install demo test bench bench-cluster validate qa render release clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## The main job, end to end, on the embedded SQLite gradebook.
demo: $(STAMP)
	$(PY) -m grader demo --assignment $(ASSIGNMENT) --students $(STUDENTS)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(PY) -m grader bench --assignment $(ASSIGNMENT) --students 60

## Local workers against a Dask LocalCluster of 1 and 2 workers, on SQLite and a private PostgreSQL.
bench-cluster: $(STAMP)
	$(PY) -m grader bench-cluster --assignment $(ASSIGNMENT) --students $(STUDENTS)

validate: $(STAMP)
	$(PY) -m grader validate

qa: $(STAMP)
	$(PY) -m grader qa

render: $(STAMP)
	$(PY) -m grader render

release: $(STAMP)
	$(PY) -m grader release

## Removes only what the demo and the bench made; a course's submissions, grades and gradebook stay.
clean:
	rm -rf demo bench-out
