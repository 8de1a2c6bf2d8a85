# Entry points for development, CI and the demo. `make help` lists them.
# Everything a fresh Debian machine needs is installed by these targets.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
COLLECTIONS := $(CURDIR)/.cache/collections
# Outside the checkout: ansible-test would otherwise list files through the
# enclosing git repository, where .cache/ is ignored.
SANITY_TREE := $(or $(TMPDIR),/tmp)/mailstack-sanity-$(shell echo $(CURDIR) | md5sum | cut -c1-8)/ansible_collections/mailstack/sasl_postfix
ALL_SCENARIOS := $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
# Longest first, so that the parallel job slots finish close together.
SLOW_SCENARIOS := source saslauthd security default
SCENARIOS ?= $(filter $(ALL_SCENARIOS),$(SLOW_SCENARIOS)) $(filter-out $(SLOW_SCENARIOS),$(ALL_SCENARIOS))

export CONTAINERS_CONF := $(CURDIR)/tests/hosts/containers.conf
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)
# Interpreter discovery on localhost picks a pyenv shim that cannot run here.
export ANSIBLE_PYTHON_INTERPRETER := $(BIN)/python

# Debian packages the project installs on this machine (tests/hosts/install-packages.sh
# adds those missing, with their recommends). A fresh machine has none of them.
# CONTAINER_PACKAGES: podman test hosts and their image build. netavark runs
# iptables for every container network; python3-venv makes .venv on a Debian
# python3; openssh-client reaches the SSH test hosts (tests/helpers/ssh_hosts.py).
CONTAINER_PACKAGES := podman runc netavark aardvark-dns iptables debootstrap python3-venv openssh-client
# The rest of `make test`: the Cyrus SASL tools, Postfix's postconf/postmap and
# the SMTP clients the module tests run for real, shellcheck for sanity; gcc,
# libsasl2-dev and valgrind build and check the XOAUTH2 plugin, python3-aiosmtpd
# and python3-cryptography run the OAuth2 test provider (tests/unit).
# prometheus brings promtool, which checks and unit-tests the metrics role's
# alert rules (tests/unit/test_metrics_alert_rules.py); where systemd runs, the
# package also starts a Prometheus server on port 9090. systemd-journal-remote
# writes the real journal files the metrics exporter's tests follow with
# journalctl (tests/unit/test_metrics_exporter.py). xz-utils unpacks the Debian
# part of Postfix's source package, where the source scenario finds the release
# signing key (molecule/source/prepare.yml): a minimal Debian has no xz.
TOOL_PACKAGES := sasl2-bin libsasl2-modules db-util postfix postfix-lmdb postfix-cdb \
	swaks libdigest-hmac-perl msmtp shellcheck xz-utils \
	gcc libc6-dev libsasl2-dev valgrind python3-aiosmtpd python3-cryptography \
	prometheus systemd-journal-remote
HOST_PACKAGES := $(CONTAINER_PACKAGES) $(TOOL_PACKAGES)
# `make docs` looks at the built site in a real browser (docs/sphinx/browser-check.py).
DOCS_PACKAGES := chromium
# The commands those packages provide that the scripts and tests call: the
# fresh-machine guard checks that a new machine has each after `setup`.
HOST_COMMANDS := podman runc iptables debootstrap ssh ssh-keygen saslpasswd2 sasldblistusers2 db_dump db_load \
	postconf postmap swaks msmtp shellcheck xz gcc valgrind promtool

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: test
test: setup fresh-machine lint sanity pytest molecule core-versions build-check ## Run the whole suite (what CI runs)
	@echo "make test: all stages passed"

.PHONY: setup
setup: host-packages venv collection-tree images check-tools ## Install and build everything the tests need

.PHONY: host-packages
host-packages: ## apt-get install every host package that is missing
	@tests/hosts/install-packages.sh $(HOST_PACKAGES)

.PHONY: container-packages
container-packages: ## apt-get install what the podman test hosts need (for make demo)
	@tests/hosts/install-packages.sh $(CONTAINER_PACKAGES)

.PHONY: check-tools
check-tools: ## Check that every command the scripts and tests call is installed
	@missing=$$(for c in $(HOST_COMMANDS); do command -v $$c >/dev/null || echo $$c; done); \
	if [ -n "$$missing" ]; then echo "check-tools: missing commands:" $$missing >&2; exit 1; fi

.PHONY: fresh-machine
fresh-machine: container-packages ## Guard: make demo, demo-test and host-packages inside a brand-new Debian 12 container
	tests/hosts/fresh-machine.sh

.PHONY: new-machine-test
new-machine-test: container-packages ## make demo, then make test, timed, inside a brand-new Debian 12 container (about 30 minutes)
	tests/hosts/fresh-machine.sh --full

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv with the pinned Python tooling

$(VENV)/.installed: requirements-dev.txt | container-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

.PHONY: collection-tree
collection-tree: ## Link the checkout as ansible_collections/mailstack/sasl_postfix
	@mkdir -p $(COLLECTIONS)/ansible_collections/mailstack
	@ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/mailstack/sasl_postfix

.PHONY: images
images: container-packages ## Build the podman test images (skipped when they exist)
	tests/hosts/build-images.sh

.PHONY: lint
lint: venv collection-tree ## yamllint and ansible-lint (production profile)
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production

.PHONY: sanity
sanity: venv ## ansible-test sanity from an ansible_collections/ tree
	rm -rf $(SANITY_TREE)
	tests/tools/copy-checkout.sh $(SANITY_TREE)
	tests/tools/seed-ansible-test-pip.sh $(BIN)/python
	cd $(SANITY_TREE) && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

.PHONY: pytest
pytest: venv host-packages images ## Unit and module tests against the real Cyrus and Postfix tools
	@rc=0; $(BIN)/pytest -p no:cacheprovider --durations=15 tests --ignore=tests/demo || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the test setup is broken" >&2; fi; \
	exit $$rc

.PHONY: molecule
molecule: venv collection-tree images ## molecule test for every scenario (MOLECULE_JOBS at a time, default 3)
	tests/run-molecule.sh $(SCENARIOS)

# oldest: the oldest ansible-core meta/runtime.yml claims; newest: the newest
# release (tests/core-versions/LABEL.txt pins them).
CORE_VERSIONS ?= oldest newest

.PHONY: core-versions
core-versions: container-packages images ## Oldest and newest ansible-core: artifact install, ansible-doc, syntax, a Molecule scenario, every module
	tests/core-versions/run.sh $(CORE_VERSIONS)

.PHONY: build-check
build-check: venv ## Build the collection, install the tarball, check ansible-doc and contents
	tests/build-check.sh

.PHONY: docs
docs: collection-tree ## Build the documentation site into build/docs/html with antsibull-docs (.cache/docs-venv)
	@tests/hosts/install-packages.sh $(DOCS_PACKAGES)
	docs/sphinx/build.sh

.PHONY: release
release: venv ## Check galaxy.yml, the changelog and tag VERSION agree on HEAD, build build/*-VERSION.tar.gz (docs/releasing.md)
	PYTHON=$(BIN)/python tests/tools/release.sh "$(VERSION)"

.PHONY: clean
clean: ## Remove build output and caches (keeps .venv and images)
	rm -rf .cache build *.tar.gz

.PHONY: demo
demo: container-packages venv collection-tree ## Start a container, apply playbooks/site.yml, run a real SMTP AUTH session
	tests/hosts/demo.sh up

.PHONY: demo-test
demo-test: venv ## Test the running demo: AUTH sessions for many generated and awkward passwords
	$(BIN)/pytest -p no:cacheprovider -q tests/demo

.PHONY: demo-clean
demo-clean: ## Remove the demo container and its network
	tests/hosts/demo.sh down
