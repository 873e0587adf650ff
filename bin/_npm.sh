# Sourced by bin/test and bin/build-web: `npm ci` in a folder when its lockfile changed.
# A stamp in node_modules records the lockfile hash, so an unchanged lockfile costs nothing.
ensure_npm() {  # $1 = folder with package.json + package-lock.json
    local dir="$1" want
    [ -f "$dir/package-lock.json" ] || return 0
    want="$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
    if [ ! -f "$dir/node_modules/.annotd-stamp" ] || [ "$(cat "$dir/node_modules/.annotd-stamp")" != "$want" ]; then
        echo "annotd: installing node dependencies in ${dir#"$ROOT"/} (npm ci)..." >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
        echo "$want" > "$dir/node_modules/.annotd-stamp"
    fi
}
