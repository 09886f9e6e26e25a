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

# debian_mirror_uri [ROOT]: the URI of the Debian archive that apt on this machine
# already uses for its release (deb822 .sources or one-line .list files;
# security and -updates suites are passed over). The repo names no mirror.
debian_mirror_uri() {
	local root=${1:-} codename files=()
	codename=$(. "$root/etc/os-release" && echo "$VERSION_CODENAME")
	[ -f "$root/etc/apt/sources.list" ] && files+=("$root/etc/apt/sources.list")
	for f in "$root"/etc/apt/sources.list.d/*.list "$root"/etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || return 1
	awk -v want="$codename" '
		function pick(uri) { if (!found) { print uri; found = 1 } }
		function flush() {
			if (types ~ /[ \t]deb([ \t]|$)/ && index(suites, " " want " ") &&
			    enabled != "no" && uri != "")
				pick(uri)
			types = uri = suites = enabled = ""
		}
		FNR == 1 { flush() }
		# one-line format: deb [options] URI SUITE COMPONENTS...
		FILENAME ~ /\.list$/ && $1 == "deb" {
			i = 2
			if ($i ~ /^\[/) while (i < NF && $i !~ /\]$/) i++
			if ($i ~ /^\[|\]$/) i++
			if ($(i + 1) == want) pick($i)
			next
		}
		# deb822 stanzas, separated by blank lines
		FILENAME ~ /\.sources$/ {
			if ($0 ~ /^[ \t]*$/) flush()
			else if ($1 == "Types:") types = $0
			else if ($1 == "URIs:") uri = $2
			else if ($1 == "Suites:") suites = $0 " "
			else if ($1 == "Enabled:") enabled = tolower($2)
		}
		END { flush() }
	' "${files[@]}" | head -n 1 | grep .
}

# cmocka_for_mingw DIR: Debian ships no mingw cmocka. Fetches Debian's cmocka
# source package (adding a deb-src entry for the archive apt already uses, if
# apt has none) and builds it for
# the Windows cross build with cross/cmocka/meson.build, installed in DIR.
cmocka_for_mingw() {
	local dir=$1 top sudo=()
	top=$(pwd)
	[ -f "$dir/lib/libcmocka.a" ] && return 0
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	need_packages dpkg-dev || return 1
	if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		local uri
		uri=$(debian_mirror_uri) || {
			echo "no Debian archive for this release in the apt sources" >&2
			return 1
		}
		printf '%s\n' 'Types: deb-src' "URIs: $uri" \
			"Suites: $(. /etc/os-release && echo "$VERSION_CODENAME")" 'Components: main' \
			'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
			"${sudo[@]}" tee /etc/apt/sources.list.d/uffs-deb-src.sources >/dev/null
		"${sudo[@]}" apt-get update -qq >&2
	fi
	mkdir -p "$dir/src"
	# A mirror can fail for a moment (an index or the tarball half-fetched):
	# refresh the indexes and try again before giving up, and say why.
	local log="$dir/fetch.log" attempt src=
	: >"$log"
	for attempt in 1 2 3; do
		rm -rf "$dir/src" && mkdir -p "$dir/src"
		if (cd "$dir/src" && apt-get source -qq cmocka) >>"$log" 2>&1; then
			src=$(find "$dir/src" -maxdepth 1 -type d -name 'cmocka-*' | head -n 1)
			[ -n "$src" ] && break
		fi
		echo "cmocka source: attempt $attempt failed" >>"$log"
		[ "$attempt" -lt 3 ] || break
		sleep $((attempt * 15))
		"${sudo[@]}" apt-get update -qq >>"$log" 2>&1
	done
	if [ -z "$src" ]; then
		echo "apt-get source cmocka failed three times:" >&2
		tail -n 20 "$log" >&2
		return 1
	fi
	rm -rf "$dir/build"
	if ! { meson setup "$dir/build" "$top/cross/cmocka" \
		--cross-file "$top/cross/x86_64-w64-mingw32.ini" \
		-Dsource="$src" --prefix="$dir" &&
		ninja -C "$dir/build" install; } >>"$log" 2>&1; then
		echo "building cmocka for mingw failed:" >&2
		tail -n 30 "$log" >&2
		return 1
	fi
}

# Container sources (E01, VHD/VHDX, VMDK, qcow2) and shadow copies come from
# libyal's libraries (libvshadow reads the volume through libbfio).
BUILD_PACKAGES=(gcc libc6-dev meson ninja-build pkg-config xz-utils liburing-dev libxxhash-dev
	libewf-dev libvhdi-dev libvmdk-dev libqcow-dev libvshadow-dev libbfio-dev)

# need_sanitizer_packages: clang and its sanitizer and libFuzzer runtime.
# The runtime (libclang-rt-N-dev) is only a Recommends of clang, and its name
# carries clang's major version, read from the clang just installed.
need_sanitizer_packages() {
	need_packages clang || return 1
	local major
	major=$(clang -dumpversion | cut -d. -f1)
	[ -n "$major" ] && need_packages "libclang-rt-$major-dev"
}
