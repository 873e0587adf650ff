# Sourced by bin/annotd and bin/test: make .venv match constraints.txt (the lock file).
# Reinstalls only when constraints.txt or setup.cfg changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

ensure_venv() {  # $1 = "runtime" or "test"
    local flavour="$1" extras="" stamp want
    [ "$flavour" = test ] && extras="[test]"
    want="$flavour $(cat "$ROOT/constraints.txt" "$ROOT/setup.cfg" | sha256sum | cut -c1-16)"
    stamp="$VENV/.annotd-$flavour"
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "annotd: installing dependencies into .venv ($flavour)..." >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$ROOT/constraints.txt" setuptools wheel >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation \
            -c "$ROOT/constraints.txt" -e "$ROOT$extras" >&2
        echo "$want" > "$stamp"
    fi
}
