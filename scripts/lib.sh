# Shared by scripts/demo and scripts/test: install missing Debian packages.
# shellcheck shell=bash

# need_packages PKG... : apt-get installs the ones not yet installed.
need_packages() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing: ${missing[*]}" >&2
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2
}

# cmocka_for_mingw DIR: Debian ships no mingw cmocka. Fetches Debian's cmocka
# source package (adding a deb-src entry if apt has none) and builds it for
# the Windows cross build with cross/cmocka/meson.build, installed in DIR.
cmocka_for_mingw() {
	local dir=$1 top
	top=$(pwd)
	[ -f "$dir/lib/libcmocka.a" ] && return 0
	need_packages dpkg-dev || return 1
	if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		local sudo=()
		[ "$(id -u)" -eq 0 ] || sudo=(sudo)
		printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' \
			"Suites: $(. /etc/os-release && echo "$VERSION_CODENAME")" 'Components: main' \
			'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
			"${sudo[@]}" tee /etc/apt/sources.list.d/uffs-deb-src.sources >/dev/null
		"${sudo[@]}" apt-get update -qq >&2
	fi
	mkdir -p "$dir/src"
	(cd "$dir/src" && apt-get source -qq cmocka >/dev/null 2>&1) || return 1
	local src
	src=$(find "$dir/src" -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
	[ -n "$src" ] || return 1
	meson setup "$dir/build" "$top/cross/cmocka" --cross-file "$top/cross/x86_64-w64-mingw32.ini" \
		-Dsource="$src" --prefix="$dir" >/dev/null &&
		ninja -C "$dir/build" install >/dev/null
}

BUILD_PACKAGES=(gcc libc6-dev meson ninja-build pkg-config xz-utils liburing-dev libxxhash-dev)
