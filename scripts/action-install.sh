#!/usr/bin/env bash
# The GitHub Action's install steps (action.yml), here so that tests can run them.
#
#   action-install.sh resolve   which release to use: writes tag= and dir= to $GITHUB_OUTPUT
#   action-install.sh install   puts atrest on $GITHUB_PATH: the release binary in $ATREST_DIR
#                               (restored by actions/cache, or downloaded and checksummed by
#                               install.sh), else built from the action's source with cargo
#
# The release is the action's own version: the `version` input if given, else the tag the
# workflow names the action by (`uses: atrest-dev/atrest@v0.1.0`), else, for a commit SHA, the
# version in the action's Cargo.toml (a SHA pinned to a release commit). A branch (`@main`) is
# built from source, since no release holds what the branch holds.
set -euo pipefail

action_path=${GITHUB_ACTION_PATH:?}

resolve() {
  local ref=${ATREST_ACTION_REF:-} version=${INPUT_VERSION:-} tag=""
  if [ -n "$version" ]; then
    tag=v${version#v}
  elif [[ "$ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]]; then
    tag=$ref
  elif [[ "$ref" =~ ^[0-9a-f]{40}$ ]]; then
    tag=v$(sed -n 's/^version = "\(.*\)"$/\1/p' "$action_path/Cargo.toml" | head -n 1)
  fi
  local dir=""
  if [ -n "$tag" ]; then
    dir=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?}}/atrest/$tag/${RUNNER_ARCH:-x64}
  fi
  echo "atrest: release ${tag:-none (the action is used at ${ref:-an unknown ref}: building from source)}"
  {
    echo "tag=$tag"
    echo "dir=$dir"
  } >>"${GITHUB_OUTPUT:?}"
}

build_from_source() {
  local root=${RUNNER_TEMP:?}/atrest-source
  echo "atrest: building from $action_path with cargo install --locked (minutes)"
  cargo install --locked --path "$action_path" --root "$root"
  add_to_path "$root/bin"
}

add_to_path() {
  echo "$1" >>"${GITHUB_PATH:?}"
  local exe=$1/atrest
  [ -x "$exe" ] || exe=$1/atrest.exe
  "$exe" --version
}

install() {
  local tag=${ATREST_TAG:-} dir=${ATREST_DIR:-}
  if [ -z "$tag" ]; then
    build_from_source
    return
  fi
  if [ -x "$dir/atrest" ] || [ -x "$dir/atrest.exe" ]; then
    echo "atrest: $tag from the cache"
    add_to_path "$dir"
    return
  fi
  local status=0
  ATREST_VERSION=$tag ATREST_INSTALL_DIR=$dir sh "$action_path/scripts/install.sh" || status=$?
  case "$status" in
    0) add_to_path "$dir" ;;
    3)
      echo "atrest: no release binary of $tag for this runner"
      build_from_source
      ;;
    *)
      echo "::error title=atrest::cannot install the release binary of $tag (see the lines above)"
      exit 1
      ;;
  esac
}

case "${1:-}" in
  resolve) resolve ;;
  install) install ;;
  *)
    echo "usage: action-install.sh resolve|install" >&2
    exit 2
    ;;
esac
