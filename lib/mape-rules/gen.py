#!/usr/bin/env python3
"""Generates lib/mape_rules.c (the built-in MAP-E rule table) from mape-rules.json.

Usage: gen.py [mape-rules.json [mape_rules.c]]   (defaults: next to this script / lib/)

Both rule lists in the json are merged.  Entries that repeat the same rule are
merged; two entries with the same rule IPv6 prefix that disagree on anything are an
error, as is any rule the C library would reject.  Nested rules that map the same
end-user prefix differently, and unrelated rules sharing IPv4 space, only warn: the
lookup picks the longest match.
The output is sorted by rule IPv6 prefix and does not depend on the input order.
"""

import ipaddress
import json
import os
import sys
import textwrap

LISTS = ("v6plus_and_ocn_from_js", "ocn_from_aios")
FIELDS = ("service", "rule_v6", "rule_v4", "ea_len", "psid_offset", "br")


class DataError(Exception):
    pass


def check_rule(x, where):
    for f in FIELDS:
        if f not in x:
            raise DataError(f"{where}: missing field {f!r}")
    try:
        v6 = ipaddress.IPv6Network(x["rule_v6"])
        v4 = ipaddress.IPv4Network(x["rule_v4"])
        br = ipaddress.IPv6Address(x["br"]) if x["br"] is not None else None
    except ValueError as err:
        raise DataError(f"{where}: {err}") from None
    if not isinstance(x["service"], str) or not x["service"].isidentifier():
        raise DataError(f"{where}: bad service name {x['service']!r}")
    n, r, o, a = v6.prefixlen, v4.prefixlen, x["ea_len"], x["psid_offset"]
    if not isinstance(o, int) or not 0 <= o <= 48:
        raise DataError(f"{where}: ea_len must be 0..48, got {o!r}")
    if not isinstance(a, int) or not 0 <= a <= 15:
        raise DataError(f"{where}: psid_offset must be 0..15, got {a!r}")
    if n + o > 64:
        raise DataError(f"{where}: rule length {n} + ea_len {o} > 64")
    q = max(o - (32 - r), 0)
    if q > 16 or a + q > 16:
        raise DataError(f"{where}: PSID length {q} with offset {a} does not fit 16 bits")
    return {
        "service": x["service"],
        "v6": v6,
        "v4": v4,
        "ea_len": o,
        "psid_offset": a,
        "psid_len": q,
        "br": br,
        "source": x.get("source", "?"),
    }


def key(rule):
    return (rule["service"], rule["v4"], rule["ea_len"], rule["psid_offset"], rule["br"])


def merge(data):
    rules = {}
    for name in LISTS:
        if name not in data or not isinstance(data[name], list):
            raise DataError(f"list {name!r} missing from the json")
        for i, x in enumerate(data[name]):
            rule = check_rule(x, f"{name}[{i}]")
            old = rules.get(rule["v6"])
            if old is None:
                rules[rule["v6"]] = rule
            elif key(old) != key(rule):
                raise DataError(
                    f"{name}[{i}]: rule {rule['v6']} ({rule['source']}) disagrees with "
                    f"an earlier entry ({old['source']}): "
                    f"{fmt_key(rule)} vs {fmt_key(old)}")
    return sorted(rules.values(), key=lambda r: (int(r["v6"].network_address), r["v6"].prefixlen))


def fmt_key(rule):
    return (f"service {rule['service']} v4 {rule['v4']} ea {rule['ea_len']} "
            f"offset {rule['psid_offset']} br {rule['br']}")


def nested_consistent(inner, outer):
    """True if every end-user prefix of inner maps to the same IPv4/PSID under outer."""
    n_in, n_out = inner["v6"].prefixlen, outer["v6"].prefixlen
    if (n_in + inner["ea_len"] != n_out + outer["ea_len"] or
            inner["psid_len"] != outer["psid_len"] or
            inner["psid_offset"] != outer["psid_offset"] or
            inner["br"] != outer["br"]):
        return False
    extra = n_in - n_out
    lead = (int(inner["v6"].network_address) >> (128 - n_in)) & ((1 << extra) - 1)
    # The bits between the two rule lengths are the top EA bits under the outer rule.
    ea_top = lead << inner["ea_len"]
    q, p_out = outer["psid_len"], 32 - outer["v4"].prefixlen
    if outer["ea_len"] >= p_out:
        v4 = int(outer["v4"].network_address) | (ea_top >> q)
    else:
        v4 = int(outer["v4"].network_address) | (ea_top << (p_out - outer["ea_len"]))
    return v4 == int(inner["v4"].network_address) and inner["v4"].subnet_of(outer["v4"])


def warn_nested(rules):
    warnings = 0
    by_len = sorted(rules, key=lambda r: r["v6"].prefixlen)
    for i, inner in enumerate(by_len):
        for outer in by_len[:i]:
            if (outer["v6"].prefixlen < inner["v6"].prefixlen and
                    inner["v6"].subnet_of(outer["v6"]) and
                    not nested_consistent(inner, outer)):
                print(f"warning: {inner['v6']} ({fmt_key(inner)}) inside {outer['v6']} "
                      f"({fmt_key(outer)}) maps differently", file=sys.stderr)
                warnings += 1
    for i, x in enumerate(by_len):
        for y in by_len[:i]:
            if (x["v4"].overlaps(y["v4"]) and not x["v6"].subnet_of(y["v6"]) and
                    not y["v6"].subnet_of(x["v6"])):
                print(f"warning: {x['v6']} and {y['v6']} share IPv4 space "
                      f"({x['v4']}, {y['v4']})", file=sys.stderr)
                warnings += 1
    return warnings


def comment_text(s):
    return s.replace("*/", "* /")


def render(data, rules, json_name):
    out = []
    w = out.append
    w("/*")
    w(f" * Generated by lib/mape-rules/gen.py from lib/mape-rules/{json_name}: do not edit,")
    w(" * run `make mape-rules` instead.")
    w(" *")
    for line in textwrap.wrap(comment_text(str(data.get("about", ""))), 92):
        w(" * " + line)
    w(" *")
    w(" * Sources:")
    for name, desc in sorted(data.get("sources", {}).items()):
        lines = textwrap.wrap(comment_text(f"{name}: {desc}"), 90)
        for j, line in enumerate(lines):
            w((" * - " if j == 0 else " *   ") + line)
    w(" *")
    counts = {}
    for r in rules:
        counts[r["service"]] = counts.get(r["service"], 0) + 1
    w(f" * {len(rules)} rules: " +
      ", ".join(f"{s} {c}" for s, c in sorted(counts.items())) + ".")
    w(" */")
    w("#include <stddef.h>")
    w("")
    w('#include "mape.h"')
    w("")
    w("const struct mape_builtin_rule mape_builtin_rules[] = {")
    for r in rules:
        br = f'"{r["br"]}"' if r["br"] is not None else "NULL"
        w(f'\t{{ "{r["service"]}", "{r["v6"]}", "{r["v4"]}", {r["ea_len"]}, '
          f'{r["psid_offset"]}, {br} }},')
    w("};")
    w("")
    w("const unsigned mape_builtin_rule_count = ARRAY_SIZE(mape_builtin_rules);")
    return "\n".join(out) + "\n"


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    src = argv[1] if len(argv) > 1 else os.path.join(here, "mape-rules.json")
    dst = argv[2] if len(argv) > 2 else os.path.join(os.path.dirname(here), "mape_rules.c")
    if len(argv) > 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(src, encoding="utf-8") as f:
            data = json.load(f)
        rules = merge(data)
    except (OSError, ValueError, DataError) as err:
        print(f"{src}: {err}", file=sys.stderr)
        return 1
    warn_nested(rules)
    text = render(data, rules, os.path.basename(src))
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, dst)
    total = sum(len(data[name]) for name in LISTS)
    print(f"{dst}: {len(rules)} rules ({total} entries, {total - len(rules)} duplicates merged)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
