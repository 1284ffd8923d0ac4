#!/bin/sh
# Installs carbonara under PREFIX (default ~/.local): the binary in
# PREFIX/bin (built by `cargo install --locked`), the man pages in
# PREFIX/share/man/man1 and the bash, zsh and fish completions where
# each shell looks under PREFIX/share.
#
#   scripts/install.sh [--binary FILE] [PREFIX]
#
# --binary FILE installs an already-built binary instead of building one.
set -eu

usage="usage: scripts/install.sh [--binary FILE] [PREFIX]"
binary=
while [ $# -gt 0 ]; do
    case $1 in
        --binary) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; binary=$2; shift 2 ;;
        -h|--help) echo "$usage"; exit 0 ;;
        -*) echo "$usage" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -le 1 ] || { echo "$usage" >&2; exit 2; }
prefix=${1:-$HOME/.local}
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ -n "$binary" ]; then
    mkdir -p "$prefix/bin"
    cp "$binary" "$prefix/bin/carbonara"
    chmod 755 "$prefix/bin/carbonara"
else
    cargo install --path "$repo" --root "$prefix" --locked
fi

man1=$prefix/share/man/man1
bash_dir=$prefix/share/bash-completion/completions
zsh_dir=$prefix/share/zsh/site-functions
fish_dir=$prefix/share/fish/vendor_completions.d
mkdir -p "$man1" "$bash_dir" "$zsh_dir" "$fish_dir"
cp "$repo"/man/*.1 "$man1/"
cp "$repo/completions/carbonara.bash" "$bash_dir/carbonara"
cp "$repo/completions/_carbonara" "$zsh_dir/_carbonara"
cp "$repo/completions/carbonara.fish" "$fish_dir/carbonara.fish"

echo "installed $prefix/bin/carbonara, its man pages in $man1 and completions for bash, zsh and fish"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "note: $prefix/bin is not on PATH" ;;
esac
