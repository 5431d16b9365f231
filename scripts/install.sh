#!/bin/sh
# Installs the atrest binary of a GitHub release, after checking its SHA-256:
#
#   curl -fsSL https://github.com/atrest-dev/atrest/releases/latest/download/atrest-installer.sh | sh
#
# Settings (environment):
#   ATREST_VERSION       release tag, e.g. v0.1.0 (default: the latest release)
#   ATREST_INSTALL_DIR   where to put the binary (default: $HOME/.local/bin)
#   ATREST_DOWNLOAD_URL  the releases address (default: https://github.com/atrest-dev/atrest/releases)
#
# Exit codes: 0 installed; 1 failed (download, checksum, unpacking); 3 no such release or no
# binary for this platform (the GitHub Action then builds from source).
set -eu

base=${ATREST_DOWNLOAD_URL:-https://github.com/atrest-dev/atrest/releases}
version=${ATREST_VERSION:-latest}
dir=${ATREST_INSTALL_DIR:-${HOME:?}/.local/bin}

say() { printf 'atrest-installer: %s\n' "$*" >&2; }

case "$(uname -m)" in
  x86_64 | amd64 | AMD64) arch=x86_64 ;;
  aarch64 | arm64 | ARM64) arch=aarch64 ;;
  *) say "no release binary for the processor $(uname -m) (see docs/install.md to build from source)"; exit 3 ;;
esac
exe=atrest
case "$(uname -s)" in
  Linux) target=$arch-unknown-linux-musl; archive=tar.gz ;;
  Darwin) target=$arch-apple-darwin; archive=tar.gz ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT)
    [ "$arch" = x86_64 ] || { say "no release binary for Windows on $arch"; exit 3; }
    target=x86_64-pc-windows-msvc; archive=zip; exe=atrest.exe ;;
  *) say "no release binary for $(uname -s)"; exit 3 ;;
esac
asset=atrest-$target.$archive
case "$version" in
  latest) url=$base/latest/download ;;
  v*) url=$base/download/$version ;;
  *) url=$base/download/v$version ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fetch URL FILE: 0 fetched, 3 not there (HTTP 404, or a missing file:// file), 1 other failure.
fetch() {
  if command -v curl >/dev/null 2>&1; then
    code=$(curl -sSL --retry 3 --proto '=https,file' -o "$2" -w '%{http_code}' "$1") && {
      case "$code" in 2?? | 000) return 0 ;; 404) return 3 ;; *) say "$1: HTTP $code"; return 1 ;; esac
    }
    status=$?
    [ "$status" = 37 ] && return 3
    say "cannot download $1 (curl exit $status)"
    return 1
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" && return 0
    [ "$?" = 8 ] && return 3
    return 1
  fi
  say "neither curl nor wget is installed"
  return 1
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    say "neither sha256sum nor shasum is installed: cannot check the download"
    return 1
  fi
}

status=0
fetch "$url/$asset.sha256" "$tmp/sum" || status=$?
if [ "$status" = 3 ]; then
  say "no $asset in release $version at $base"
  exit 3
fi
[ "$status" = 0 ] || exit 1
fetch "$url/$asset" "$tmp/$asset" || { say "cannot download $url/$asset"; exit 1; }

expected=$(cut -d ' ' -f 1 <"$tmp/sum" | tr -d '\r\n')
actual=$(sha256 "$tmp/$asset")
if [ "$expected" != "$actual" ]; then
  say "checksum mismatch for $asset: expected $expected, got $actual; nothing installed"
  exit 1
fi

mkdir -p "$tmp/unpacked"
case "$archive" in
  tar.gz) tar -xzf "$tmp/$asset" -C "$tmp/unpacked" ;;
  zip) unzip -q "$tmp/$asset" -d "$tmp/unpacked" ;;
esac
[ -f "$tmp/unpacked/$exe" ] || { say "$asset holds no $exe"; exit 1; }
mkdir -p "$dir"
cp "$tmp/unpacked/$exe" "$dir/$exe.tmp"
chmod +x "$dir/$exe.tmp"
mv -f "$dir/$exe.tmp" "$dir/$exe"
say "installed $("$dir/$exe" --version) ($target, SHA-256 checked) as $dir/$exe"
case ":${PATH}:" in
  *":$dir:"*) ;;
  *) say "$dir is not on PATH; add it, e.g. export PATH=\"$dir:\$PATH\"" ;;
esac
