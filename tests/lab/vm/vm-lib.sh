# Shared by the VM scripts (sourced, bash).  The cache holds the unpacked Debian kernel, its
# modules and the initramfs; it is built once by vm-prepare and shared by every later run.

vm_cache_dir() {
	if [ -n "${UPLINKD_LAB_CACHE:-}" ]; then
		echo "$UPLINKD_LAB_CACHE"
	elif [ "$(id -u)" = 0 ]; then
		echo /var/cache/uplinkd-lab
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/uplinkd-lab"
	fi
}

# The source tree: the top of the repository these scripts live in.
vm_src_dir() {
	(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd -P)
}

vm_log() {
	echo "vm: $*" >&2
}
