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

BUILD_PACKAGES=(gcc libc6-dev meson ninja-build pkg-config xz-utils liburing-dev libxxhash-dev)
