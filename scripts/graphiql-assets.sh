#!/bin/sh
# Fills DIR with the GraphiQL page's scripts and styles from npm, laid out as
# unpkg lays them out (<package>@<version>/<file>), for
# `trade-graph --graphiql-assets DIR` on a machine without internet (run this
# where npm can reach its registry, then copy DIR over).
#
#     sh scripts/graphiql-assets.sh ./graphiql-assets
#
# The versions are the ones the page loads (src/server/graphiql.rs; a test
# checks they agree).
set -eu
dir=${1:?usage: sh scripts/graphiql-assets.sh DIR}
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for package in react@18.3.1 react-dom@18.3.1 graphiql@3.8.3; do
  tarball=$(cd "$work" && npm pack "$package" --silent --loglevel=error)
  mkdir -p "$dir/$package"
  tar -xzf "$work/$tarball" -C "$dir/$package" --strip-components=1
done
echo "GraphiQL's assets are in $dir: trade-graph --graphiql-assets $dir"
