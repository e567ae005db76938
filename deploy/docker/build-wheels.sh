#!/bin/sh
# Build stage of the Dockerfile (and of tests/deploy/test_image_install.py): a wheel of
# Matchday and of every dependency, so the runtime stage installs with no index, no compiler.
#   build-wheels.sh SOURCE_DIR WHEEL_DIR
set -eu
src=$1
wheels=$2
# Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$src/." "$work/"
python3 -m pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir "$wheels" "$work"
