#!/bin/sh
# deps.sh: install the Debian 12 packages govledger needs to build, run and
# test, when any is missing.  Safe to run again; works as root or, through
# sudo, as a user allowed to install packages.  Never reads standard input.
set -eu

PACKAGES="
	build-essential
	ca-certificates
	curl
	git
	libjansson-dev
	libpcre2-dev
	libpq-dev
	libssl-dev
	libtap-parser-sourcehandler-pgtap-perl
	nginx
	nginx-dev
	openssl
	perl
	postgresql-15
	postgresql-15-pgtap
	postgresql-client-15
	postgresql-contrib
	postgresql-server-dev-15
	util-linux
	valgrind
	wrk
	zlib1g-dev
"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
else
	SUDO="sudo -n"
fi

missing=
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
		*" installed") ;;
		*) missing="$missing $p" ;;
	esac
done

if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# keep packaged services from starting on install; we run our own
	policy=/usr/sbin/policy-rc.d
	created_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
		$SUDO chmod 755 "$policy"
		created_policy=1
	fi
	$SUDO apt-get update -q </dev/null
	$SUDO apt-get install -y -q --no-install-recommends $missing </dev/null
	if [ -n "$created_policy" ]; then
		$SUDO rm -f "$policy"
	fi
fi

# the unprivileged user that owns PostgreSQL clusters (and the workers of
# the tests' nginx), and the one the workers of `make run`'s nginx run as:
# they parse what the network sends, so they own neither the data nor the
# log keys, and may log in only as the gateway's role
for u in govledger govledger-web; do
	if ! id "$u" >/dev/null 2>&1; then
		$SUDO useradd --system --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin "$u"
	fi
done
