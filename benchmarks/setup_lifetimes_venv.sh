#!/usr/bin/env bash
# Creates benchmarks/.venv-lifetimes: the peer package `lifetimes` 0.11.3 in a venv of its own, so
# its old pins never meet storelift's (pandas 3). bench_clv.py runs lifetimes_peer.py with it.
#
#   bash benchmarks/setup_lifetimes_venv.sh            # uses python3.11 (or $PYTHON)
#
# lifetimes 0.11.3 (2020) needs autograd and dill; it works with numpy 2.2 / pandas 2.2 / scipy 1.15
# (pandas 3 removed the `delim_whitespace` and frequency aliases it relies on).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-lifetimes"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "lifetimes==0.11.3" "numpy>=2.2,<2.3" "pandas>=2.2,<2.3" "scipy>=1.13,<1.16" "autograd>=1.7" "dill" "pyarrow"
"$venv/bin/python" -c "import lifetimes, numpy, pandas, scipy; print('lifetimes', lifetimes.__version__, '| numpy', numpy.__version__, '| pandas', pandas.__version__, '| scipy', scipy.__version__)"
