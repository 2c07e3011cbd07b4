#!/usr/bin/env bash
# Re-vendors the portals' front-end assets from npm at pinned versions into
# internal/web/assets/static/vendor, checking every tarball and every file
# against the sha256 recorded here (and in that folder's README.md), so the
# provenance of what the binary embeds can be reproduced by anyone.
#
#   scripts/vendor-assets.sh          fetch with `npm pack`, unpack, copy, check
#   scripts/vendor-assets.sh --check  only check the files already vendored
#
# Nothing is fetched at build or run time: the files are committed and embedded.
#
# nhsuk-frontend's compiled CSS is patched in two documented ways (see the
# README): its @font-face rules load Frutiger from assets.nhs.uk, a third-party
# fetch we do not make from a care record (and a font licensed to NHS services
# only), so they are removed and the stack falls back to Arial; and its
# image URLs are root-absolute (/assets/images/...), so they are made relative
# to the stylesheet, which then works under whatever prefix the portals mount.
set -euo pipefail

NHSUK_VERSION=10.6.1
HTMX_VERSION=2.0.11

NHSUK_TGZ_SHA256=1af037bcb75237c4208809d3ac9a06522ccf61b2268221268ead3985bceb060b
HTMX_TGZ_SHA256=165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e

root=$(cd "$(dirname "$0")/.." && pwd)
vendor=$root/internal/web/assets/static/vendor
nhsuk_dir=$vendor/nhsuk-frontend-$NHSUK_VERSION
htmx_dir=$vendor/htmx-$HTMX_VERSION

# sha256 of each vendored file, relative to $vendor. Keep in step with README.md.
expected() {
	cat <<EOF
nhsuk-frontend-$NHSUK_VERSION/nhsuk-frontend.min.css df77cfe0cbcd749a170f51881d6af11dd15853d25394cbd213675813dab36107
nhsuk-frontend-$NHSUK_VERSION/nhsuk-frontend.min.js 6becb5e390e9734b62f8aa81d0dc297fa78c33367986a1f57a832a5f3635fa65
nhsuk-frontend-$NHSUK_VERSION/assets/images/nhsuk-icon-arrow-down.svg 413e412e70e61d4b26e608507cc009ae952eb57e3a3126f55587a7cc0ee453b8
nhsuk-frontend-$NHSUK_VERSION/assets/images/nhsuk-icon-arrow-up.svg b8bee584537e8cc275eb49974427b84e9722ac22ab76adb1b32420e3266785d7
nhsuk-frontend-$NHSUK_VERSION/assets/images/nhsuk-icon-arrow-up-down.svg e5b217ca77e17e98e533c4272d2c41b88aadce5470e3af454a3359538734281b
nhsuk-frontend-$NHSUK_VERSION/assets/images/nhsuk-icon-cross.svg 694bdf45a657c8b88c958f33ab724ddcd875b8dfa2006cdd27f6d861b0a306fb
nhsuk-frontend-$NHSUK_VERSION/LICENSE ffc0b4f6f60c5dae84a6bd2d51401e2995cb1bd620822a6f82dee569ec6ba71a
htmx-$HTMX_VERSION/htmx.min.js d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717
htmx-$HTMX_VERSION/LICENSE d3d2456f76414f2456104660ebd65aff1c04cd7966b942bdabd63f3cdb316a38
EOF
}

check() {
	local bad=0 path want got
	while read -r path want; do
		if [[ ! -f $vendor/$path ]]; then
			echo "missing: $path" >&2
			bad=1
			continue
		fi
		got=$(sha256sum "$vendor/$path" | cut -d' ' -f1)
		if [[ $got != "$want" ]]; then
			echo "sha256 mismatch: $path: got $got, want $want" >&2
			bad=1
		fi
	done < <(expected)
	return $bad
}

if [[ ${1:-} == --check ]]; then
	check && echo "vendored assets match their pinned sha256"
	exit
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package version want-sha256 → unpacked dir on stdout
	local pkg=$1 version=$2 want=$3 tgz got
	(cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
	tgz=$tmp/$pkg-$version.tgz
	got=$(sha256sum "$tgz" | cut -d' ' -f1)
	if [[ $got != "$want" ]]; then
		echo "sha256 mismatch: $pkg@$version tarball: got $got, want $want" >&2
		exit 1
	fi
	mkdir -p "$tmp/$pkg"
	tar -xzf "$tgz" -C "$tmp/$pkg"
	echo "$tmp/$pkg/package"
}

nhsuk=$(fetch nhsuk-frontend "$NHSUK_VERSION" "$NHSUK_TGZ_SHA256")
htmx=$(fetch htmx.org "$HTMX_VERSION" "$HTMX_TGZ_SHA256")

rm -rf "$nhsuk_dir" "$htmx_dir"
mkdir -p "$nhsuk_dir/assets/images" "$htmx_dir"

sed -E \
	-e 's/@font-face\{[^}]*\}//g' \
	-e 's#url\(/assets/images/#url(assets/images/#g' \
	"$nhsuk/dist/nhsuk/nhsuk-frontend.min.css" >"$nhsuk_dir/nhsuk-frontend.min.css"
cp "$nhsuk/dist/nhsuk/nhsuk-frontend.min.js" "$nhsuk_dir/"
for icon in arrow-down arrow-up arrow-up-down cross; do
	cp "$nhsuk/dist/nhsuk/assets/images/nhsuk-icon-$icon.svg" "$nhsuk_dir/assets/images/"
done
# The npm tarball ships no licence file; this is the upstream repository's LICENSE.
cat >"$nhsuk_dir/LICENSE" <<'EOF'
MIT License

Copyright (c) 2019 NHS.UK

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
EOF

cp "$htmx/dist/htmx.min.js" "$htmx/LICENSE" "$htmx_dir/"

check
echo "vendored nhsuk-frontend@$NHSUK_VERSION and htmx.org@$HTMX_VERSION"
