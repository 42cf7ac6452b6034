#!/usr/bin/env bash
# Makes Fashion-MNIST available: does nothing when its files are already in a place sepclr
# searches; installs the Debian package when run as root on Debian/Ubuntu; otherwise says how.
set -euo pipefail
files="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"
for dir in "${SEPCLR_DATA:-}/fashion-mnist" "$HOME/.cache/sepclr/fashion-mnist" /usr/share/datasets/fashion-mnist; do
  missing=0
  for f in $files; do [ -f "$dir/$f" ] || [ -f "$dir/${f%.gz}" ] || missing=1; done
  if [ "$missing" = 0 ]; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)..."
  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null
else
  echo "Fashion-MNIST not found. Install it with 'sudo apt-get install dataset-fashion-mnist'," >&2
  echo "or put the four *-ubyte.gz files in \$SEPCLR_DATA/fashion-mnist or ~/.cache/sepclr/fashion-mnist." >&2
fi
