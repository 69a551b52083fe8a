# sam build's recipe for every function of template.yaml (BuildMethod: makefile).
#
# SAM runs `make build-<LogicalId>` once per function, with ARTIFACTS_DIR set to
# where that function's bootstrap goes. SAM's own Rust builder
# (rust-cargolambda) would run one `cargo lambda build --release --arm64 --bin <f>`
# per function: nine cargo runs one after the other, each linking its binary
# with fat LTO on one core. Here each target runs the same single build of the
# whole workspace's functions (the default members), in which cargo links all
# of them in parallel; the first target to run does the work, and for the
# others cargo finds everything up to date and returns at once. Cargo's own
# freshness check is the guard: nothing is copied that this build did not
# just bring up to date. Each target then copies its own bootstrap.
#
# A function's binary is its logical id without `Function`, in snake case
# (CreateClientFunction: create_client); shared/tests/contract/routes.rs
# checks that every function in template.yaml is named so.
#
# The build runs in the workspace, where this Makefile is, whatever directory
# SAM starts make in (samconfig.toml has SAM build in the source directory:
# a copy of it would hold target/).

WORKSPACE := $(patsubst %/,%,$(dir $(realpath $(lastword $(MAKEFILE_LIST)))))
# Where cargo builds (target/, or CARGO_TARGET_DIR, or a cargo config's).
TARGET_DIR = $(shell cd '$(WORKSPACE)' && cargo metadata --no-deps --format-version 1 \
	| sed -E 's/.*"target_directory":"([^"]*)".*/\1/')

# CreateClient -> create_client
snake_case = $(shell printf '%s' '$(1)' | sed -E 's/([a-z0-9])([A-Z])/\1_\2/g' | tr '[:upper:]' '[:lower:]')

.PHONY: functions

# Every function's arm64 bootstrap, in $(TARGET_DIR)/lambda/<function>/.
functions:
	cd '$(WORKSPACE)' && cargo lambda build --release --arm64

build-%Function: functions
	@test -n '$(ARTIFACTS_DIR)' || { echo 'ARTIFACTS_DIR is not set: sam build sets it' >&2; exit 1; }
	cp '$(TARGET_DIR)/lambda/$(call snake_case,$*)/bootstrap' '$(ARTIFACTS_DIR)/bootstrap'
