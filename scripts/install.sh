#!/usr/bin/env bash
# Installs everything the grader needs on a fresh Debian/Ubuntu machine: the bubblewrap sandbox,
# headless Chromium (only for the HTML-page tests), and this package with its dev extras.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
if [ "${INSTALL_CHROMIUM:-1}" = "1" ] && ! command -v chromium >/dev/null 2>&1; then
  need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${need_apt[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "WARNING: please install ${need_apt[*]} (e.g. sudo apt-get install ${need_apt[*]});" \
         "without bubblewrap the grader runs with weaker isolation and says so in every result." >&2
  fi
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'

# The compiled kernels (Cython 3: im2col/col2im and the pool gradient, the one-pass Adam step) for
# the reference and for the template the sandbox grades with; fast_layers.py and optim.py fall
# back to pure numpy where they are not built.
for package in reference/intro2ai reference/*/intro2ai student_template/*/intro2ai; do
  if [ -f "$package/setup.py" ]; then
    (cd "$package" && python3 setup.py -q build_ext --inplace >/dev/null 2>&1) \
      || echo "note: could not build the compiled kernels in $package (the numpy paths will be used)" >&2
  fi
done
