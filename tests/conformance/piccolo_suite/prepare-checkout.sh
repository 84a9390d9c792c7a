#!/usr/bin/env bash
# Piccolo's source tree at the version Bandstand pins, with its complete tests/ folder.
#
#   prepare-checkout.sh [DEST] [GIT]
#
# DEST: where the tree goes (default: .piccolo-suite/piccolo in the repository, git-ignored).
# GIT: a clone URL or a local git directory, bare or not (default: Piccolo's GitHub repository).
#
# With a 1.38.0 tag in GIT, the tree is that tag. Without one (a mirror that stops at 1.36.0 and
# commit 3599b756 "Numeric infinity"), it is that commit with the PyPI sdist laid over it: the
# sdist has piccolo/ (the same as the wheel) and 1.38.0's test files, but not the suite's support
# files (tests/__init__.py, base.py, conftest.py, *_conf.py, the example apps' migrations) nor some
# folders (columns/foreign_key, apps/*/commands); those come from the commit. No 1.38.0 test file
# imports a helper the commit lacks. SDIST=path uses a copy of the sdist already downloaded.
set -euo pipefail

VERSION=1.38.0  # Bandstand's pin (requirements/dev.lock.txt); update the lines below with it
FALLBACK_REV=3599b756a2e70e18e7758b5bb475d33f5192ca4e
SDIST_URL=https://files.pythonhosted.org/packages/23/78/011e5f933c0d9c08431c72d5400d6b75a23b1f1477fc9a0473f0f47735df/piccolo-1.38.0.tar.gz
SDIST_SHA256=3a6456fb767202baffecf62aa1d9fe22885aa28db3214d5dfb9fa8a48197abd6

repository=$(cd "$(dirname "$0")/../../.." && pwd)
dest=${1:-$repository/.piccolo-suite/piccolo}
source=${2:-https://github.com/piccolo-orm/piccolo}
sdist=${SDIST:-$(dirname "$dest")/piccolo-$VERSION.tar.gz}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ -d "$source" ]; then
  git_dir=$source
else
  git clone --quiet --bare "$source" "$scratch/piccolo.git"
  git_dir=$scratch/piccolo.git
fi

rm -rf "$dest"
mkdir -p "$dest"
if git -C "$git_dir" rev-parse --quiet --verify "refs/tags/$VERSION^{commit}" >/dev/null; then
  git -C "$git_dir" archive "$VERSION" | tar -x -C "$dest"
  provenance="git: $source @ tag $VERSION"
else
  if [ ! -f "$sdist" ]; then
    mkdir -p "$(dirname "$sdist")"
    curl -fsSL -o "$sdist" "$SDIST_URL"
  fi
  echo "$SDIST_SHA256  $sdist" | sha256sum --check --quiet -
  git -C "$git_dir" archive "$FALLBACK_REV" | tar -x -C "$dest"
  tar -xzf "$sdist" -C "$scratch"
  rm -rf "$dest/piccolo"
  cp -a "$scratch/piccolo-$VERSION/piccolo" "$dest/piccolo"
  cp -a "$scratch/piccolo-$VERSION/tests/." "$dest/tests/"
  provenance="git: $source @ $FALLBACK_REV (no tag $VERSION), overlaid: $(basename "$sdist") \
(sha256 $SDIST_SHA256): piccolo/ replaced, tests/ files overwritten"
fi
echo "$provenance" >"$dest/PROVENANCE.txt"
if ! grep -q "__VERSION__ = \"$VERSION\"" "$dest/piccolo/__init__.py"; then
  echo "$dest: piccolo/__init__.py is not version $VERSION ($provenance)" >&2
  exit 1
fi
echo "$dest: Piccolo $VERSION ($provenance)"
