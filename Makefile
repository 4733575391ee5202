# ollama-gate developer entry points. Every target sets up what it needs (venv, Docker engine,
# base image); see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
export PATH := $(abspath $(VENV))/bin:$(PATH)
export ANSIBLE_FORCE_COLOR ?= 0
export PY_COLORS ?= 0

# Molecule scenarios to run (default: all; the shared create/destroy live in molecule/shared),
# and how many run side by side.
SCENARIOS ?=
JOBS ?= 2

.PHONY: test lint unit molecule venv testhosts demo demo-down bench clean-testhosts

## test: everything CI runs — lint, unit tests, every Molecule scenario (JOBS at a time), ending
## with a table of what each step and scenario cost
test: venv
	python tests/run_suite.py --jobs $(JOBS) $(SCENARIOS)

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

## lint: yamllint + ansible-lint (production profile)
lint: venv
	yamllint --strict .
	ansible-lint

## unit: fast tests without containers (stand-in, filters, spec/default drift)
unit: venv
	python -m pytest tests/unit

## testhosts: Docker engine + Debian systemd base image (installs/starts/builds when missing)
testhosts:
	bash tests/testhost/setup.sh

## molecule: every scenario (or SCENARIOS="a b"), JOBS at a time, ending with a table of times
molecule: venv
	python tests/run_suite.py --steps molecule --jobs $(JOBS) $(SCENARIOS)

## demo: stand up the stack on a local throwaway test host and show it working
demo: venv testhosts
	bash tests/testhost/demo.sh up

## demo-down: remove the demo test host
demo-down: venv
	bash tests/testhost/demo.sh down

## bench: auth overhead (with vs without Basic Auth, nginx and Caddy), Bearer keys vs Basic at 10/100/1,000 credentials with a static upstream, 200-user rotation vs an htpasswd loop, Ansible task cost per connection setting
bench: demo
	bash bench/run.sh

## clean-testhosts: remove all test containers, the release server and the test network
clean-testhosts:
	bash tests/testhost/clean.sh
