#!/bin/sh
# Runtime stage of the Dockerfile (and of tests/deploy/test_image_install.py): Matchday into a
# virtualenv of its own from the wheels alone (--no-index: nothing is fetched at this step),
# byte-compiled by pip as it installs (the root filesystem is read-only at run time), with no
# pip inside.
#   install.sh WHEEL_DIR VENV_DIR
set -eu
wheels=$1
venv=$2
# The base interpreter (it has pip), resolved before the venv exists: once it does, the
# image's PATH finds the venv's python first.
py=$(command -v python3)
"$py" -m venv --without-pip "$venv"
"$py" -m pip --python "$venv/bin/python" install --no-index --no-cache-dir \
    --disable-pip-version-check --find-links "$wheels" matchday
"$venv/bin/matchday" --help >/dev/null
