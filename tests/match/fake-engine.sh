#!/bin/sh
# A GTP engine that misbehaves on purpose, for the sp-match tests.
# Usage: fake-engine.sh MODE, MODE one of: pass, illegal, garbage, crash,
# hang, refuse, resign, silent-name.
mode=$1
[ "$mode" = silent-name ] && exec sleep 1000
while IFS= read -r line; do
    # shellcheck disable=SC2086 # split the command into words
    set -- $line
    case $1 in
        name) printf '= fake-%s\n\n' "$mode" ;;
        version) printf '= 0\n\n' ;;
        quit) printf '=\n\n'; exit 0 ;;
        play)
            if [ "$mode" = refuse ]; then printf '? illegal move\n\n'; else printf '=\n\n'; fi ;;
        genmove)
            case $mode in
                pass|refuse) printf '= pass\n\n' ;;
                illegal) printf '= A1\n\n' ;;
                garbage) printf '= Z99\n\n' ;;
                crash) exit 3 ;;
                hang) sleep 1000 ;;
                resign) printf '= resign\n\n' ;;
            esac ;;
        *) printf '=\n\n' ;;
    esac
done
