#!/bin/bash
# The catalogue of bad inputs: each case runs pwhy for real and records its exit status and the
# one line it printed on stderr.
#   tests/bad-inputs.sh --write docs/bad-inputs.md   regenerate the document
#   tests/bad-inputs.sh --check docs/bad-inputs.md   ok/not ok per case: still one line, same
#                                                    status, same message as documented
# Cases that depend on the kernel (a refused backend) are checked only where they apply.
set -u
cd "$(dirname "$0")/.."
PWHY=${PWHY:-./pwhy}
MODE=${1:---check}
DOC=${2:-docs/bad-inputs.md}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# case ID WHEN DESCRIPTION -- ARGS...   (WHEN: always | no-fentry | no-kprobe | env:VAR=VALUE)
CASES=()
add() { CASES+=("$(printf '%s\x1f' "$@")"); }
add filter-syntax always "malformed filter (position of the error)" -- trace --timeout 1 'udp and and'
add filter-value always "filter with a bad value" -- trace --timeout 1 udp and port xyz
add filter-untranslatable always "filter pwhy cannot translate" -- trace --timeout 1 inbound
add func-none always "unknown function (--filter-func matching none)" -- trace --timeout 1 --filter-func '^no_such_function_xyz$'
add func-regex always "--filter-func not a regular expression" -- trace --timeout 1 --filter-func '('
add all-tp no-fentry-kprobe "--all where only tracepoints load" -- trace --timeout 1 --all
add backend always "unknown backend" -- trace --backend bogus
add netns always "netns that does not exist" -- trace --timeout 1 --filter-netns no-such-netns
add ifname always "device that does not exist" -- trace --timeout 1 --filter-ifname nosuch0
add mark always "bad mark" -- trace --timeout 1 --filter-mark zz
add ringbuf always "ring buffer size not a power of two" -- trace --timeout 1 --ringbuf-kb 3
add timeout always "bad timeout" -- trace --timeout abc
add limit always "bad --output-limit-lines" -- trace --output-limit-lines 0
add write-dir always "unwritable -w path (missing directory)" -- trace --timeout 1 -w /nonexistent-dir/out.pcapng udp
add pcap-once always "--pcap-once without -w" -- trace --timeout 1 --pcap-once udp
add flag always "unknown flag" -- trace --bogus
add value always "flag missing its value" -- trace --timeout
add kind always "unknown finding kind" -- run --fail-on bogus -- true
add no-command always "run without a command" -- run
add report-top always "report: bad --top" -- report --top 0
add report-filter always "report: a filter expression" -- report udp
add fix-kind always "fix: unknown fix" -- fix apply bogus
add no-btf env:PWHY_BTF=/nonexistent "kernel BTF missing" -- trace --timeout 1
add not-root nobody "not root" -- trace --timeout 1
add fentry-refused no-fentry "fentry refused by the kernel" -- trace --backend fentry --timeout 1
add kprobe-refused no-kprobe "kprobes missing from the kernel" -- trace --backend kprobe --timeout 1

# run WHEN ARGS... → $TMP/st, $TMP/err
run() {
	local when=$1; shift
	case $when in
	env:*) env "${when#env:}" "$PWHY" "$@" >/dev/null 2>"$TMP/err" </dev/null ;;
	nobody) setpriv --reuid=65534 --regid=65534 --clear-groups "$PWHY" "$@" >/dev/null 2>"$TMP/err" </dev/null ;;
	*) "$PWHY" "$@" >/dev/null 2>"$TMP/err" </dev/null ;;
	esac
	echo $? >"$TMP/st"
}

applies() {
	case $1 in
	no-fentry) ! "$PWHY" backends 2>/dev/null | grep -q '^fentry  *yes' ;;
	no-kprobe) ! "$PWHY" backends 2>/dev/null | grep -q '^kprobe  *yes' ;;
	no-fentry-kprobe) ! "$PWHY" backends 2>/dev/null | grep -q '^\(fentry\|kprobe\)  *yes' ;;
	nobody) command -v setpriv >/dev/null ;;
	*) return 0 ;;
	esac
}

md_escape() { sed 's/|/\\|/g'; }

if [ "$MODE" = --write ]; then
	{
		echo "# Bad inputs and what pwhy says"
		echo
		echo "Every case below was run for real by \`tests/bad-inputs.sh --write\`; the scenario"
		echo "\`tests/scenarios/bad_inputs.sh\` runs them again in \`make test\` and fails when a message,"
		echo "its exit status, or the one-line rule changes. Exit 2: usage (nothing was attached);"
		echo "exit 3: tracing could not start. Kernel-dependent cases are checked where they apply."
		echo
		echo "| case | input | command | exit | message |"
		echo "|---|---|---|---:|---|"
	} >"$DOC.tmp"
fi

fails=0
for c in "${CASES[@]}"; do
	IFS=$'\x1f' read -r -a f <<<"$c"
	id=${f[0]} when=${f[1]} desc=${f[2]}
	args=("${f[@]:4}")
	if ! applies "$when"; then
		[ "$MODE" = --check ] && echo "skip - bad_inputs: $id: does not apply on this kernel/machine"
		continue
	fi
	run "$when" "${args[@]}"
	st=$(cat "$TMP/st"); lines=$(wc -l <"$TMP/err"); msg=$(head -1 "$TMP/err")
	if [ "$MODE" = --write ]; then
		cmd="pwhy"; for a in "${args[@]}"; do case $a in *' '*|*'('*|*'$'*|*'^'*) cmd+=" '$a'" ;; *) cmd+=" $a" ;; esac; done
		case $when in env:*) cmd="${when#env:} $cmd" ;; nobody) cmd="(as nobody) $cmd" ;; esac
		printf '| %s | %s | `%s` | %s | `%s` |\n' "$id" "$desc" "$(md_escape <<<"$cmd")" "$st" \
			"$(md_escape <<<"$msg")" >>"$DOC.tmp"
		[ "$lines" = 1 ] || echo "warning: $id printed $lines lines" >&2
		continue
	fi
	row=$(grep "^| $id | " "$DOC")
	want_st=$(awk -F' \\| ' '{print $4}' <<<"$row")
	want_msg=$(sed -n 's/.*| `\(.*\)` |$/\1/p' <<<"$row" | sed 's/\\|/|/g')
	if [ -z "$row" ]; then echo "not ok - bad_inputs: $id: not in $DOC"; fails=$((fails + 1))
	elif [ "$lines" != 1 ]; then echo "not ok - bad_inputs: $id: $lines lines on stderr"; sed 's/^/#   /' "$TMP/err" | head -5; fails=$((fails + 1))
	elif [ "$st" != "$want_st" ] || [ "$st" = 0 ]; then echo "not ok - bad_inputs: $id: exit $st, documented $want_st"; fails=$((fails + 1))
	elif [ "$msg" != "$want_msg" ]; then echo "not ok - bad_inputs: $id: message changed"; echo "#   now: $msg"; echo "#   doc: $want_msg"; fails=$((fails + 1))
	else echo "ok - bad_inputs: $id: exit $st, one line as documented"; fi
done
if [ "$MODE" = --write ]; then
	mv "$DOC.tmp" "$DOC"
	echo "wrote $DOC"
fi
[ $fails = 0 ]
