#!/usr/bin/env bash
# Registers this unpacked Atelier bundle for the current user: the menu entry
# (.desktop), the icon, the `.atelier` file type (so that file managers open
# projects with Atelier) and an `atelier` command in ~/.local/bin. Nothing is
# copied out of the bundle: it runs from where it was unpacked, so put it
# where it is to stay (e.g. ~/.local/opt) before installing.
#
#   ./install.sh              install (again: replaces the previous install)
#   ./install.sh --uninstall  remove exactly what the install added
#
# No root needed; nothing outside $HOME is touched. What was installed is
# listed, with checksums, in ~/.local/share/atelier/installed-files:
# --uninstall removes those files only if they are unchanged, the caches that
# the install created, and the folders it created once they are empty.
set -euo pipefail

say() { printf 'atelier install: %s\n' "$*"; }
die() { printf 'atelier install: error: %s\n' "$*" >&2; exit 1; }

[ -n "${HOME:-}" ] && [ -d "$HOME" ] || die "HOME is not set or not a folder"
BUNDLE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
DATA="${XDG_DATA_HOME:-}"
case "$DATA" in /*) ;; *) DATA="$HOME/.local/share" ;; esac
APPS="$DATA/applications"
MIME="$DATA/mime"
ICONS="$DATA/icons/hicolor"
BINDIR="$HOME/.local/bin"
MANIFEST="$DATA/atelier/installed-files"

# Everything install may create or change, for the before/after comparison
# that tells which files and folders (caches included) it created.
WATCHED=("$APPS" "$MIME" "$ICONS" "$BINDIR" "$DATA/atelier")
snapshot() {
  local p
  for p in "$HOME/.local" "$DATA" "$DATA/icons" "${WATCHED[@]}"; do
    if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\n' "$p"; fi
  done
  for p in "${WATCHED[@]}"; do
    if [ -d "$p" ]; then find "$p" -mindepth 1; fi
  done
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

refresh_caches() {
  # Each tool is optional: without it the desktop reads the files directly
  # (GIO and KDE rescan the folders), just a little later.
  if [ -d "$MIME/packages" ] && command -v update-mime-database >/dev/null; then
    update-mime-database "$MIME" >/dev/null 2>&1 || say "warning: update-mime-database failed"
  fi
  if [ -d "$APPS" ] && command -v update-desktop-database >/dev/null; then
    update-desktop-database "$APPS" >/dev/null 2>&1 || say "warning: update-desktop-database failed"
  fi
  if [ -f "$ICONS/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -f -t "$ICONS" >/dev/null 2>&1 || true
  fi
}

uninstall() {
  if [ ! -f "$MANIFEST" ]; then
    say "nothing to uninstall (no $MANIFEST)"
    return 0
  fi
  local kind path value kept=0
  # What the install created (caches and folders among them), deepest first.
  local created=()
  if [ -f "$MANIFEST.created" ]; then
    while IFS=$'\t' read -r kind path; do
      [ "$kind" = created ] && created+=("$path")
    done < <(sort -t$'\t' -k2,2r "$MANIFEST.created")
  fi
  # The installed files, if unchanged, and the link, if still ours.
  while IFS=$'\t' read -r kind path value; do
    case "$kind" in
      file)
        [ -f "$path" ] || continue
        if [ "$(sha "$path")" = "$value" ]; then
          rm -f -- "$path"
        else
          say "kept $path: changed since the install"
          kept=1
        fi
        ;;
      link)
        if [ -L "$path" ] && [ "$(readlink -- "$path")" = "$value" ]; then
          rm -f -- "$path"
        elif [ -e "$path" ] || [ -L "$path" ]; then
          say "kept $path: no longer the link the install made"
          kept=1
        fi
        ;;
    esac
  done <"$MANIFEST"
  rm -f -- "$MANIFEST" "$MANIFEST.created"
  # The caches no longer name Atelier; a cache that the install created and
  # that nothing else feeds is removed below with the rest it created.
  refresh_caches
  local mime_left=0 apps_left=0
  if [ -d "$MIME/packages" ] && [ -n "$(ls -A "$MIME/packages")" ]; then mime_left=1; fi
  # (mimeinfo.cache maps types to the remaining entries: empty, nothing feeds it.)
  if [ -f "$APPS/mimeinfo.cache" ] && grep -q '=' "$APPS/mimeinfo.cache"; then apps_left=1; fi
  for path in "${created[@]}"; do
    if [ -d "$path" ] && [ ! -L "$path" ]; then
      rmdir -- "$path" 2>/dev/null || true
    elif [ -e "$path" ] || [ -L "$path" ]; then
      case "$path" in
        "$MIME"/*) [ "$mime_left" = 1 ] || rm -f -- "$path" ;;
        "$APPS/mimeinfo.cache") [ "$apps_left" = 1 ] || rm -f -- "$path" ;;
      esac
    fi
  done
  # update-mime-database fills type folders (e.g. mime/application/) again:
  # those it made from nothing are gone once nothing feeds them.
  if [ "$mime_left" = 0 ]; then
    for path in "${created[@]}"; do
      case "$path" in "$MIME"/*) if [ -d "$path" ]; then rm -rf -- "$path"; fi ;; esac
    done
  fi
  if [ "$kept" = 1 ]; then
    say "uninstalled, but kept the files named above"
  else
    say "uninstalled"
  fi
}

install_file() { # SRC DEST
  mkdir -p -- "$(dirname "$2")"
  cp -- "$1" "$2.tmp.$$"
  chmod 0644 "$2.tmp.$$"
  mv -f -- "$2.tmp.$$" "$2"
  printf 'file\t%s\t%s\n' "$2" "$(sha "$2")" >>"$MANIFEST"
}

# The Exec line's program, quoted as the desktop entry spec asks: inside
# double quotes, a backslash before " ` $ \; then, because the value is a
# desktop-file string, every backslash doubled; a literal % is written %%.
exec_quote() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//\`/\\\`}"
  s="${s//\$/\\\$}"
  s="${s//\\/\\\\}"
  s="${s//%/%%}"
  printf '"%s"' "$s"
}

install() {
  [ -x "$BUNDLE/atelier" ] || die "$BUNDLE/atelier is missing: run install.sh from the unpacked bundle"
  case "$BUNDLE" in *$'\n'* | *$'\t'*) die "the bundle's path has a line break or tab in it: move it" ;; esac
  # The binary must start here before anything is registered.
  "$BUNDLE/atelier" --version >/dev/null 2>&1 ||
    die "$BUNDLE/atelier does not start on this machine (see: $BUNDLE/atelier --version)"
  if [ -f "$MANIFEST" ]; then
    say "replacing the previous install"
    uninstall >/dev/null
  fi
  local link_ok=1
  if [ -L "$BINDIR/atelier" ]; then
    case "$(readlink -- "$BINDIR/atelier")" in */atelier) ;; *) link_ok=0 ;; esac
  elif [ -e "$BINDIR/atelier" ]; then
    link_ok=0
  fi
  [ "$link_ok" = 1 ] ||
    say "warning: $BINDIR/atelier is someone else's: left alone (no atelier command)"
  local before
  before="$(snapshot | sort)"
  mkdir -p -- "$(dirname "$MANIFEST")"
  : >"$MANIFEST"
  trap 'say "the install stopped half-way; $BUNDLE/install.sh --uninstall removes what it wrote"' ERR

  # Menu entry: the bundle's template, run from this bundle's absolute path.
  local tmp line
  tmp="$(mktemp)"
  while IFS= read -r line; do
    case "$line" in
      "Exec=atelier "*) line="Exec=$(exec_quote "$BUNDLE/atelier") ${line#Exec=atelier }" ;;
      "TryExec=atelier") line="TryExec=${BUNDLE//\\/\\\\}/atelier" ;;
    esac
    printf '%s\n' "$line"
  done <"$BUNDLE/share/applications/atelier.desktop" >"$tmp"
  install_file "$tmp" "$APPS/atelier.desktop"
  rm -f -- "$tmp"
  # File type and icons.
  install_file "$BUNDLE/share/mime/packages/atelier.xml" "$MIME/packages/atelier.xml"
  local icon
  while IFS= read -r icon; do
    install_file "$BUNDLE/share/icons/hicolor/$icon" "$ICONS/$icon"
  done < <(cd "$BUNDLE/share/icons/hicolor" && find . -type f | sed 's|^\./||' | sort)
  # The command: a link to the bundle's binary, which finds its libraries
  # through its own $ORIGIN/lib wherever it is started from.
  if [ "$link_ok" = 1 ]; then
    mkdir -p -- "$BINDIR"
    ln -sfn -- "$BUNDLE/atelier" "$BINDIR/atelier"
    printf 'link\t%s\t%s\n' "$BINDIR/atelier" "$BUNDLE/atelier" >>"$MANIFEST"
  fi
  refresh_caches
  trap - ERR

  # What the install created (caches and folders included), for --uninstall.
  # (The list's own file may appear in the second snapshot: it is left out.)
  # shellcheck disable=SC2094
  comm -13 <(printf '%s\n' "$before") <(snapshot | sort) |
    { grep -vxF -e "$MANIFEST" -e "$MANIFEST.created" || true; } |
    sed 's/^/created\t/' >"$MANIFEST.created"

  say "installed Atelier from $BUNDLE"
  say "  menu entry  $APPS/atelier.desktop"
  say "  file type   application/x-atelier (*.atelier)"
  if [ -L "$BINDIR/atelier" ]; then
    say "  command     $BINDIR/atelier"
    case ":${PATH:-}:" in
      *":$BINDIR:"*) ;;
      *) say "  ($BINDIR is not on your PATH: add it, or start Atelier from the menu)" ;;
    esac
  fi
  say "to remove: $BUNDLE/install.sh --uninstall (before moving or deleting this folder)"
}

case "${1:-}" in
  "") install ;;
  --uninstall) uninstall ;;
  -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}" ;;
  *) die "unknown option $1 (use --uninstall or --help)" ;;
esac
