# Dolibarr <-> GoCardless <-> Shine reconciliation. `make help` lists what is here.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

# Settings: command line > environment > .env > config.yaml. Make does not read .env (a
# file it included would override the environment): the stages fill in from it only what
# is still unset (stages/recon/settings.py). ENV_FILE= (empty) reads none.
ENV_FILE ?= .env
ALLOW_MISSING ?=
export ENV_FILE ALLOW_MISSING
export DOLIBARR_URL DOLIBARR_API_KEY DOLIBARR_WRITE_API_KEY DOLIBARR_SNAPSHOT
export DOLIBARR_GC_PAYMENT_ID DOLIBARR_BANK_ACCOUNT_ID DOLIBARR_CLEARING_ACCOUNT_ID
export RECONCILIATION_DATE_TOLERANCE RECONCILIATION_PAYOUT_TOLERANCE

FROM ?=
TO ?=
RAW_DIR ?= raw
INTERIM_DIR ?= interim
OUT_DIR ?= tmp
CONFIG ?= config.yaml
# The user's decisions about lines the rules left open (never written by the pipeline).
DECISIONS ?= decisions.yaml
SNAPSHOT_ROOT ?= $(RAW_DIR)/dolibarr
DOLIBARR_URL ?=
DOLIBARR_API_KEY ?=
DOLIBARR_WRITE_API_KEY ?=
DOLIBARR_SNAPSHOT ?=
DOLIBARR_CLEARING_ACCOUNT_ID ?=
DOLIBARR_GC_PAYMENT_ID ?=
DOLIBARR_BANK_ACCOUNT_ID ?=
RECONCILIATION_DATE_TOLERANCE ?=
RECONCILIATION_PAYOUT_TOLERANCE ?=
CONFIRM ?=
PYTEST_ARGS ?=
PYTHON ?= python3
# Stages that do not depend on each other run at once (parsers and fetch, pass 3 beside
# pass 1), one per core, unless make was given -j itself.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
parallel = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(JOBS)) --output-sync=target

# --- virtual environment: rebuilt only when requirements.txt changes -------------------
VENV := .venv
PY := $(VENV)/bin/python
VENV_OK := $(VENV)/.installed

$(VENV_OK): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# --- files -----------------------------------------------------------------------------
# The library, its bank readers (recon/banks/) included.
LIB := $(wildcard stages/recon/*.py stages/recon/*/*.py)
GC_DIR := $(RAW_DIR)/gocardless
SHINE_DIR := $(RAW_DIR)/shine

GC_PAYMENTS := $(INTERIM_DIR)/gc_payments.parquet
GC_PAYOUTS := $(INTERIM_DIR)/gc_payouts.parquet
GC_PAYOUT_ITEMS := $(INTERIM_DIR)/gc_payout_items.parquet
BANK := $(INTERIM_DIR)/bank.parquet
PARSED := $(GC_PAYMENTS) $(GC_PAYOUTS) $(GC_PAYOUT_ITEMS) $(BANK)

# Everything downstream of the window carries it in its name, so a new window is never
# mistaken for an old one and several windows can live side by side.
WINDOW := $(FROM)_$(TO)
SNAPSHOT_DIR := $(SNAPSHOT_ROOT)/$(WINDOW)
INVOICES := $(INTERIM_DIR)/invoices_$(WINDOW).parquet
PASS1 := $(INTERIM_DIR)/pass1_$(WINDOW).parquet
PASS2 := $(INTERIM_DIR)/pass2_$(WINDOW).parquet
PASS3 := $(INTERIM_DIR)/pass3_$(WINDOW).parquet
RECONCILIATION_CSV := $(OUT_DIR)/reconciliation_$(WINDOW).csv
PAYOUTS_CSV := $(OUT_DIR)/payouts_fees_$(WINDOW).csv
SUMMARY := $(OUT_DIR)/summary_$(WINDOW).txt
PROVENANCE := $(OUT_DIR)/provenance_$(WINDOW).json
HTML_REPORT := $(OUT_DIR)/report_$(WINDOW).html
WORKBOOK := $(OUT_DIR)/reconciliation_$(WINDOW).xlsx
REVIEW := $(OUT_DIR)/review_$(WINDOW).yaml
# Every file of a window's report: all removed when a run of the window fails.
REPORT_FILES := $(RECONCILIATION_CSV) $(PAYOUTS_CSV) $(SUMMARY) $(PROVENANCE) \
  $(HTML_REPORT) $(WORKBOOK) $(OUT_DIR)/payout_bookings_$(WINDOW).csv
# The record of every write to Dolibarr: outside OUT_DIR, so `make clean` never reaches it.
JOURNAL_DIR ?= journal
FIX_JOURNAL := $(JOURNAL_DIR)/fix_journal.jsonl
# Touched by `make fix` after it wrote to Dolibarr: every snapshot is then stale.
DOLIBARR_WRITTEN := $(OUT_DIR)/dolibarr_written.stamp

# Content stamps (stages/recon/stamps.py): rewritten only when what they stand for changes
# (names and SHA-256 of the exports; the effective Dolibarr source and tolerances, .env
# included), so Make sees content, not dates. They hold names and hashes, never secrets.
comma := ,
STAMPS := $(INTERIM_DIR)/stamps
GC_STAMP := $(STAMPS)/gc_inputs.stamp $(STAMPS)/allow_missing.stamp
SHINE_STAMP := $(STAMPS)/shine_inputs.stamp $(STAMPS)/allow_missing.stamp
SOURCE_STAMP := $(if $(FROM),$(STAMPS)/source_$(WINDOW).stamp)
TOLERANCE_STAMP := $(if $(FROM),$(STAMPS)/tolerances.stamp)
SNAPSHOT_INPUTS := $(if $(FROM),$(STAMPS)/saved_snapshot.stamp)
# Written by stages/snapshot_age.py when the window's snapshot is too old or was edited.
EXPIRE_STAMP := $(STAMPS)/expire_$(WINDOW).stamp
# The SHA-256 of every input, hashed once by stamps.py; the stages' provenance reads it.
export RECON_HASH_CACHE := $(abspath $(STAMPS))/hash-cache.json
# Parameter stamp (decisions): rewritten only when its content changes.
stamp = $(shell mkdir -p $(INTERIM_DIR) && h=$$(printf '%s' '$(2)' | sha256sum | cut -c1-16) && \
  { [ "$$(cat $(1) 2>/dev/null)" = "$$h" ] || echo "$$h" > $(1); } && echo $(1))
# decisions.yaml is a prerequisite of the passes when it exists; the stamp also sees
# it appear, disappear or DECISIONS name another file.
DECISIONS_STAMP := $(if $(FROM),$(call stamp,$(INTERIM_DIR)/decisions.stamp,$(abspath $(DECISIONS))|$(wildcard $(DECISIONS))))
DECISIONS_INPUTS := $(DECISIONS_STAMP) $(wildcard $(DECISIONS))
# The inner make of `report`, `passes`, `review` and `fix` is given STAMPS_FRESH=1: the
# outer make stamped the same inputs a moment before (its parse takes ~0.15 s less).
STAMPS_FRESH ?=
STAMPED := $(if $(STAMPS_FRESH),,$(shell $(PYTHON) stages/recon/stamps.py $(INTERIM_DIR) \
  gc_inputs=files:$(GC_DIR) shine_inputs=files:$(SHINE_DIR) allow_missing=values:ALLOW_MISSING \
  $(if $(FROM),source_$(WINDOW)=values:DOLIBARR_URL$(comma)DOLIBARR_SNAPSHOT \
    tolerances=values:RECONCILIATION_DATE_TOLERANCE$(comma)RECONCILIATION_PAYOUT_TOLERANCE \
    saved_snapshot=files-of:DOLIBARR_SNAPSHOT) \
  --env-file '$(ENV_FILE)' --given 'ALLOW_MISSING=$(ALLOW_MISSING)' --given 'DOLIBARR_URL=$(DOLIBARR_URL)' --given 'DOLIBARR_SNAPSHOT=$(DOLIBARR_SNAPSHOT)' \
  --given 'RECONCILIATION_DATE_TOLERANCE=$(RECONCILIATION_DATE_TOLERANCE)' \
  --given 'RECONCILIATION_PAYOUT_TOLERANCE=$(RECONCILIATION_PAYOUT_TOLERANCE)'))

# A stamp the helper could not write (no python3?) counts as changed.
$(STAMPS)/%.stamp: ; @:

# After a failure, no report of the window is left looking valid for the new inputs.
or_drop_report = || { rm -f $(REPORT_FILES); echo "make: no report of $(WINDOW) is left: fix the error above and run again" >&2; exit 2; }

need_window = $(if $(and $(FROM),$(TO)),,$(error Set the window: make $@ FROM=YYYY-MM-DD TO=YYYY-MM-DD))

# --- stages ----------------------------------------------------------------------------
$(GC_PAYMENTS): stages/parse_gc.py $(LIB) $(GC_STAMP) | $(VENV_OK)
	$(PY) stages/parse_gc.py --input-dir $(GC_DIR) --out $@

$(GC_PAYOUTS) $(GC_PAYOUT_ITEMS) &: stages/parse_payouts.py $(LIB) $(GC_STAMP) | $(VENV_OK)
	$(PY) stages/parse_payouts.py --input-dir $(GC_DIR) --out $(GC_PAYOUTS) --items-out $(GC_PAYOUT_ITEMS)

$(BANK): stages/parse_shine.py $(LIB) $(CONFIG) $(SHINE_STAMP) | $(VENV_OK)
	$(PY) stages/parse_shine.py --input-dir $(SHINE_DIR) --config $(CONFIG) --out $@

$(INVOICES): stages/fetch_dolibarr.py $(LIB) $(CONFIG) $(SOURCE_STAMP) $(SNAPSHOT_INPUTS) $(STAMPS)/allow_missing.stamp $(wildcard $(DOLIBARR_WRITTEN) $(EXPIRE_STAMP)) | $(VENV_OK)
	$(call need_window)
	$(PY) stages/fetch_dolibarr.py --from $(FROM) --to $(TO) --config $(CONFIG) --snapshot-dir $(SNAPSHOT_DIR) --out $@

$(PASS1): stages/pass1.py $(LIB) $(CONFIG) $(TOLERANCE_STAMP) $(DECISIONS_INPUTS) $(INVOICES) $(GC_PAYMENTS) | $(VENV_OK)
	$(PY) stages/pass1.py --invoices $(INVOICES) --payments $(GC_PAYMENTS) --from $(FROM) --to $(TO) --config $(CONFIG) --decisions $(DECISIONS) --out $@

$(PASS2): stages/pass2.py $(LIB) $(CONFIG) $(DECISIONS_INPUTS) $(INVOICES) $(PASS1) $(BANK) $(PASS3) | $(VENV_OK)
	$(PY) stages/pass2.py --invoices $(INVOICES) --pass1 $(PASS1) --bank $(BANK) --pass3 $(PASS3) --from $(FROM) --to $(TO) --config $(CONFIG) --decisions $(DECISIONS) --out $@

$(PASS3): stages/pass3.py $(LIB) $(CONFIG) $(TOLERANCE_STAMP) $(DECISIONS_INPUTS) $(GC_PAYOUTS) $(GC_PAYOUT_ITEMS) $(GC_PAYMENTS) $(BANK) | $(VENV_OK)
	$(PY) stages/pass3.py --payouts $(GC_PAYOUTS) --payout-items $(GC_PAYOUT_ITEMS) --payments $(GC_PAYMENTS) --bank $(BANK) --from $(FROM) --to $(TO) --config $(CONFIG) --decisions $(DECISIONS) --out $@

$(RECONCILIATION_CSV) $(PAYOUTS_CSV) $(SUMMARY) $(PROVENANCE) &: stages/report.py $(LIB) $(CONFIG) $(DECISIONS_INPUTS) $(PASS1) $(PASS2) $(PASS3) | $(VENV_OK)
	$(PY) stages/report.py --pass1 $(PASS1) --pass2 $(PASS2) --pass3 $(PASS3) --from $(FROM) --to $(TO) --decisions $(DECISIONS) --out-dir $(OUT_DIR) --config $(CONFIG) > /dev/null

# The HTML report and the workbook, from the same figures, beside the CSVs (own core).
$(HTML_REPORT) $(WORKBOOK) &: stages/documents.py $(LIB) $(wildcard stages/recon/templates/*) $(CONFIG) $(DECISIONS_INPUTS) $(PASS1) $(PASS2) $(PASS3) | $(VENV_OK)
	$(PY) stages/documents.py --pass1 $(PASS1) --pass2 $(PASS2) --pass3 $(PASS3) --from $(FROM) --to $(TO) --config $(CONFIG) --decisions $(DECISIONS) --out-dir $(OUT_DIR)

# With several jobs, make starts targets in the order it meets them: parse_payouts and
# parse_shine would take the free jobs before pass 1, the longest stage. Inside `report`
# and `passes` (PASS1_FIRST=1) they wait for pass 1's inputs instead: parse_payouts
# for parse_gc, parse_shine for fetch_dolibarr, so pass 1 starts as soon as it can and
# they fill the job left free meanwhile. (Only then: `make parse` must not fetch.)
PASS1_FIRST ?=
ifdef PASS1_FIRST
$(GC_PAYOUTS): | $(GC_PAYMENTS)
$(BANK): | $(INVOICES)
endif
# The goal of `report`; `@:` keeps it quiet when there is nothing to do.
.PHONY: report-files
report-files: $(RECONCILIATION_CSV) $(PAYOUTS_CSV) $(SUMMARY) $(PROVENANCE) $(HTML_REPORT) $(WORKBOOK) ; @:

$(REVIEW): stages/review.py $(LIB) $(PASS1) $(PASS2) $(PASS3) | $(VENV_OK)
	$(PY) stages/review.py --pass1 $(PASS1) --pass2 $(PASS2) --pass3 $(PASS3) --from $(FROM) --to $(TO) --decisions $(DECISIONS) --out $@

# --- what people type ------------------------------------------------------------------
.DEFAULT_GOAL := help
.PHONY: help parse fetch refresh passes report fix check demo test bench clean review

help: ## this list
	@echo "Targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 14
	@echo
	@echo "Variables (current value):"
	@echo "  FROM, TO          reconciliation window, YYYY-MM-DD ($(FROM) .. $(TO))"
	@echo "  RAW_DIR           exports: gocardless/, shine/ ($(RAW_DIR))"
	@echo "  INTERIM_DIR       Parquet written by the stages ($(INTERIM_DIR))"
	@echo "  OUT_DIR           reports, CSVs ($(OUT_DIR))"
	@echo "  CONFIG            settings file ($(CONFIG))"
	@echo "  DECISIONS         your decisions about open lines ($(DECISIONS))"
	@echo "  DOLIBARR_URL, DOLIBARR_API_KEY   the Dolibarr to read (command line > environment > .env)"
	@echo "  ENV_FILE          file of site settings and keys, read by the stages ($(ENV_FILE))"
	@echo "  ALLOW_MISSING     inputs a report may go without: payments,payouts,bank,invoices ($(ALLOW_MISSING))"
	@echo "  DOLIBARR_SNAPSHOT folder of a saved snapshot to read instead of the network"
	@echo "  DOLIBARR_WRITE_API_KEY           key used by 'make fix' (else DOLIBARR_API_KEY)"
	@echo "  DOLIBARR_GC_PAYMENT_ID, DOLIBARR_BANK_ACCOUNT_ID  override config.yaml's fix: ids"
	@echo "  DOLIBARR_CLEARING_ACCOUNT_ID     override fix.clearing_account_id (clearing mode)"
	@echo "  JOURNAL_DIR       where 'make fix' journals its writes; 'make clean' keeps it ($(JOURNAL_DIR))"
	@echo "  CONFIRM=yes       let 'make fix' write without asking"
	@echo "  JOBS              stages run at once ($(JOBS))"
	@echo "  RECONCILIATION_DATE_TOLERANCE, RECONCILIATION_PAYOUT_TOLERANCE  override config.yaml"

parse: ## parse the GoCardless and Shine exports (no window needed)
	@$(MAKE) --no-print-directory $(parallel) $(PARSED)

fetch: ## fetch the Dolibarr snapshot of the window
	$(call need_window)
	@$(MAKE) --no-print-directory $(INVOICES)

refresh: ## fetch the window's Dolibarr snapshot again, even if it looks fresh
	$(call need_window)
	@$(MAKE) --no-print-directory -W stages/fetch_dolibarr.py $(INVOICES)

passes: ## run passes 1-3 of the window
	$(call need_window)
	@$(MAKE) --no-print-directory $(parallel) PASS1_FIRST=1 STAMPS_FRESH=1 $(PASS1) $(PASS2) $(PASS3) $(or_drop_report)

report: | $(VENV_OK) ## reconcile the window and print the report (FROM=… TO=…)
	$(call need_window)
	@$(if $(DOLIBARR_SNAPSHOT),,$(PY) stages/snapshot_age.py --config $(CONFIG) --snapshot-dir $(SNAPSHOT_DIR) --invoices $(INVOICES) --expire-stamp $(EXPIRE_STAMP) &&) \
	  $(MAKE) --no-print-directory $(parallel) PASS1_FIRST=1 STAMPS_FRESH=1 report-files $(or_drop_report)
	@cat $(SUMMARY)
	@$(PY) stages/payout_bookings.py --pass1 $(PASS1) --pass3 $(PASS3) --payments $(GC_PAYMENTS) --payout-items $(GC_PAYOUT_ITEMS) --config $(CONFIG) --out $(OUT_DIR)/payout_bookings_$(WINDOW).csv
	@echo "Report to read: $(HTML_REPORT) (workbook: $(WORKBOOK))"

review: ## write tmp/review_<FROM>_<TO>.yaml: a decisions.yaml entry for each line needing action
	$(call need_window)
	@$(MAKE) --no-print-directory $(parallel) PASS1_FIRST=1 STAMPS_FRESH=1 $(REVIEW)
	@echo "$(REVIEW): uncomment what you decide and copy it into $(DECISIONS)"

fix: ## record the proven payments in Dolibarr (asks first; CONFIRM=yes to skip asking)
	$(call need_window)
	@$(MAKE) --no-print-directory $(parallel) PASS1_FIRST=1 STAMPS_FRESH=1 $(PASS1) $(PASS2) $(PASS3)
	$(PY) stages/fix.py --pass1 $(PASS1) --pass2 $(PASS2) --pass3 $(PASS3) --payments $(GC_PAYMENTS) --payout-items $(GC_PAYOUT_ITEMS) --config $(CONFIG) --journal $(FIX_JOURNAL) --written-stamp $(DOLIBARR_WRITTEN) $(if $(CONFIRM),--confirm $(CONFIRM))

check: | $(VENV_OK) ## is Dolibarr reachable, which version, which user, are the fix ids valid
	$(PY) stages/check_dolibarr.py --config $(CONFIG)

demo: | $(VENV_OK) ## the whole pipeline on the bundled sample data and a local Dolibarr emulator
	ENV_FILE= DOLIBARR_SNAPSHOT= $(PY) -m emulator --data demo/dolibarr -- \
	  $(MAKE) --no-print-directory report FROM=2026-01-01 TO=2026-02-09 \
	    RAW_DIR=demo/raw INTERIM_DIR=interim/demo OUT_DIR=tmp/demo SNAPSHOT_ROOT=tmp/demo/dolibarr \
	    DECISIONS=demo/decisions.yaml

test: | $(VENV_OK) ## run the test suite
	$(PY) -m pytest $(PYTEST_ARGS)

bench: | $(VENV_OK) ## benchmark the pipeline on a large synthetic month (see bench/README.md)
	$(PY) bench/run.py

clean: ## remove what the stages wrote (keeps raw/, the fix journal and the virtual environment)
	rm -rf $(INTERIM_DIR) $(OUT_DIR)
