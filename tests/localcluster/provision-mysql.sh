#!/usr/bin/env bash
# Provisions Oracle MySQL (server and client tools) from Debian's `sid` suite
# into a version-keyed tree in the binary cache, without root and without
# touching the system's apt or dpkg state. Prints the tree's directory.
#
# The only real MySQL server these bookworm machines can reach is the one in
# sid. Its sid library dependencies come along (`apt-get install
# --download-only` against an empty dpkg status), are unpacked with
# `dpkg-deb -x`, and every program runs through the tree's own dynamic loader:
# bookworm's loader fails on sid's libc (`undefined symbol:
# __tunable_is_initialized`). The tree's bin/ holds wrappers `mysqld`, `mysql`,
# `mysqldump`, `mysqladmin` that do this, so callers run them as ordinary
# commands.
#
# The mirror is the one the machine's own apt sources use for Debian (override
# with TENANT_EXIT_DEBIAN_MIRROR); only the suite differs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_root="${TENANT_EXIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenant-exit}"
tree="$cache_root/mysql/mysql-${MYSQL_DEBIAN_VERSION}"
packages=(mysql-server-core mysql-client-core)
# Perl only serves mysqldumpslow/mysqld_multi, which nothing here runs.
skip_re='^(perl|perl-base|perl-modules-.*|libperl.*|libgdbm.*|libdb5.*|libc-gconv-modules-extra)$'

mkdir -p "$cache_root"
exec 9>"$cache_root/build.lock"
flock 9

if [[ -f "$tree/.complete" ]]; then
  echo "$tree"
  exit 0
fi

# The Debian archive mirror of the system's apt sources (deb822 *.sources or
# one-line sources.list), and the keyring it is signed with.
read -r mirror keyring < <(python3 - "${TENANT_EXIT_DEBIAN_MIRROR:-}" <<'PY'
import glob, re, sys
override = sys.argv[1]
default_keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
if override:
    print(override.rstrip("/"), default_keyring)
    raise SystemExit
entries = []  # (uri, suites, keyring)
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split():
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split(),
                                fields.get("signed-by", default_keyring)))
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(line) >= 3 and line[0] == "deb":
            entries.append((line[1], [line[2]], default_keyring))
# The main Debian archive: a suite that is a plain codename (not -security or
# -updates) and a keyring that is Debian's.
for uri, suites, keyring in entries:
    if any(re.fullmatch(r"[a-z]+", s) for s in suites) and "debian-archive" in keyring:
        print(uri.rstrip("/"), keyring)
        raise SystemExit
raise SystemExit("no Debian archive mirror in the system's apt sources; "
                 "set TENANT_EXIT_DEBIAN_MIRROR to one")
PY
)

started=$(date +%s)
work="$cache_root/mysql/.work-$$"
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{lists/partial,archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d}
touch "$work/status"
echo "deb [signed-by=$keyring] $mirror sid main" > "$work/etc/sources.list"
cat > "$work/apt.conf" <<EOF
Dir::State "$work";
Dir::State::Lists "$work/lists";
Dir::State::status "$work/status";
Dir::Cache "$work";
Dir::Cache::Archives "$work/archives";
Dir::Etc::SourceList "$work/etc/sources.list";
Dir::Etc::SourceParts "$work/etc/sources.list.d";
Dir::Etc::Preferences "$work/etc/preferences";
Dir::Etc::PreferencesParts "$work/etc/preferences.d";
Dir::Etc::Parts "$work/etc/apt.conf.d";
APT::Architecture "amd64";
APT::Install-Recommends "false";
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
EOF
export APT_CONFIG="$work/apt.conf"

echo "provisioning MySQL $MYSQL_DEBIAN_VERSION from $mirror sid" >&2
apt-get update -qq >&2
served="$(apt-cache madison mysql-server-core | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u | tr '\n' ' ')"
if ! grep -qw -- "$MYSQL_DEBIAN_VERSION" <<<"$served"; then
  cat >&2 <<EOF
ERROR: Debian sid no longer serves mysql-server-core $MYSQL_DEBIAN_VERSION.
It serves: ${served:-nothing}
Bump MYSQL_DEBIAN_VERSION in tests/localcluster/versions.env to one of those
(a new version provisions into a new cache key), then run the tests again.
EOF
  exit 1
fi
pinned=()
for p in "${packages[@]}"; do pinned+=("$p=$MYSQL_DEBIAN_VERSION"); done
apt-get install -y -qq --download-only "${pinned[@]}" >&2

staging="$work/tree"
mkdir -p "$staging"
for deb in "$work"/archives/*.deb; do
  name="$(dpkg-deb -f "$deb" Package)"
  [[ "$name" =~ $skip_re ]] && continue
  dpkg-deb -x "$deb" "$staging"
done

# Wrappers: every program through the tree's loader and libraries.
mkdir -p "$staging/bin"
write_wrapper() {  # name, program path inside the tree, extra options
  local name="$1" program="$2" extra="$3"
  cat > "$staging/bin/$name" <<EOF
#!/bin/sh
# Generated by provision-mysql.sh: MySQL $MYSQL_DEBIAN_VERSION from Debian sid,
# run through its own loader (the system's is too old for its libc).
tree="\$(cd "\$(dirname "\$0")/.." && pwd)"
lib="\$tree/usr/lib/x86_64-linux-gnu"
# --no-defaults / --defaults-file must stay the first option.
first=""
case "\${1:-}" in --no-defaults|--defaults-file=*|--defaults-extra-file=*|--print-defaults) first="\$1"; shift;; esac
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" "\$tree/$program" \${first:+"\$first"} $extra "\$@"
EOF
  chmod +x "$staging/bin/$name"
}
charsets='"--character-sets-dir=$tree/usr/share/mysql/charsets"'
write_wrapper mysqld usr/sbin/mysqld \
  "\"--basedir=\$tree/usr\" \"--lc-messages-dir=\$tree/usr/share/mysql\" $charsets \"--plugin-dir=\$tree/usr/lib/mysql/plugin\""
for client in mysql mysqldump mysqladmin; do
  write_wrapper "$client" "usr/bin/$client" "$charsets"
done

"$staging/bin/mysqld" --version >&2
"$staging/bin/mysqldump" --version >&2

rm -rf "$tree"
mkdir -p "$(dirname "$tree")"
mv "$staging" "$tree"
size="$(du -sm "$tree" | cut -f1)"
echo "provisioned MySQL $MYSQL_DEBIAN_VERSION in $(( $(date +%s) - started ))s, ${size} MB" >&2
touch "$tree/.complete"
echo "$tree"
