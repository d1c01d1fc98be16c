#!/usr/bin/env bash
# Builds every reference plugin (plugins/<name>/ with a plugin.toml and a
# go.mod) for GOOS=wasip1 GOARCH=wasm into plugins/dist/<name>/, which the
# binary embeds (package plugins). A plugin whose module is newer than its
# sources and the SDK's is skipped. Usage: build/plugins.sh [-f] [NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
force=0
if [[ "${1:-}" == "-f" ]]; then force=1; shift; fi

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
	for dir in plugins/*/; do
		name=$(basename "$dir")
		[[ -f "$dir/plugin.toml" && -f "$dir/go.mod" ]] || continue
		names+=("$name")
	done
fi

built=0 skipped=0
for name in "${names[@]}"; do
	src="plugins/$name"
	out="plugins/dist/$name"
	wasm="$out/$name.wasm"
	if [[ ! -f "$src/plugin.toml" || ! -f "$src/go.mod" ]]; then
		echo "plugins: $src is not a plugin (needs plugin.toml and go.mod)" >&2
		exit 1
	fi
	if [[ $force -eq 0 && -f "$wasm" && -f "$out/plugin.toml" ]] &&
		[[ -z "$(find "$src" plugins/sdk \( -name '*.go' -o -name go.mod -o -name plugin.toml \) -newer "$wasm" -print -quit)" ]]; then
		skipped=$((skipped + 1))
		continue
	fi
	mkdir -p "$out"
	tmp="$wasm.tmp.$$"
	echo "plugins: building $name"
	(cd "$src" && GOOS=wasip1 GOARCH=wasm GOWORK=off GOFLAGS=-mod=mod \
		"$GO" build -buildmode=c-shared -trimpath -o "$OLDPWD/$tmp" .)
	cp "$src/plugin.toml" "$out/plugin.toml"
	mv "$tmp" "$wasm"
	built=$((built + 1))
done
echo "plugins: $built built, $skipped up to date (plugins/dist)"
