#!/usr/bin/env python3
"""sbom-peers.py: strata's licences and dependency edges against Trivy's.

  licenses REPORT TRIVY.json ROOTFS
      for every deb and npm package both report, the licences each gives,
      compared as sets of keys (SPDX identifiers without -only/-or-later or
      '+', known synonyms folded: Trivy's build writes GPL-2.0 and Expat
      where strata writes GPL-2.0-or-later and MIT); every difference must
      be one of the known divergences below, named with the copyright file
      (ROOTFS/usr/share/doc/NAME/copyright) that shows why
  edges REPORT TRIVY.json ROOTFS
      deb dependency edges: Trivy's DependsOn must all be strata's; the
      edges strata has in addition must each be one Trivy leaves out by
      design (Pre-Depends, an architecture-qualified name, a virtual
      package), judged from ROOTFS/var/lib/dpkg/status

Known divergences (each printed with a count and examples):
  trivy-prose        Trivy splits licence prose at its commas into names
                     ("free of charge", "its", "Permission is hereby granted")
  trivy-unversioned  an unversioned /usr/share/common-licenses/GPL (or LGPL),
                     a link to the latest version, is GPL-3.0 to Trivy; strata
                     takes the version the notice states, or none
  trivy-standalone   a stand-alone License paragraph of a DEP-5 file gives the
                     text of a licence no Files paragraph names; Trivy counts
                     it, strata does not
  trivy-none         "License: none" is no licence to strata
  trivy-bison        Trivy's table turns GPL-3+-WITH-BISON-EXCEPTION into
                     GPL-2.0-with-bison-exception
  trivy-reference    Trivy takes every /usr/share/common-licenses/NAME the
                     file mentions as a licence, also where it is only where
                     the text of a declared licence lives
  strata-free-form   strata reads GNU notices and the opening words of the
                     usual permissive licences in files that are not
                     machine-readable; this Trivy does not (offline, without
                     --license-full)
  strata-doc-link    the package's doc directory is a link to another
                     package's; strata follows it, Trivy reads nothing
  strata-whole       strata keeps a DEP-5 expression with an "or" (or an
                     unnamed part) whole; Trivy splits it
  strata-any-gpl     an unversioned GPL is GPL-1.0-or-later to strata (the
                     GPL's own terms: any version), Trivy leaves it out
  strata-ambiguous   a name with several meanings ("Apache" without a
                     version) is text to strata; Trivy picks one
Python standard library only. Exits 1 when a difference is not one of
these, 0 otherwise.
"""

import json
import os
import re
import sys

SYNONYMS = {
    "expat": "mit", "mit/expat": "mit", "cc0": "cc0-1.0", "artistic": "artistic-1.0-perl",
    "gfdl-niv-1.1": "gfdl-1.1-no-invariants", "gfdl-niv-1.2": "gfdl-1.2-no-invariants",
    "gfdl-niv-1.3": "gfdl-1.3-no-invariants", "ms-pl": "ms-pl", "psf-2": "psf-2.0",
    "zlib/libpng": "zlib",
}
AMBIGUOUS = {"apache", "bsd", "gpl", "lgpl", "mit-style", "bsd-style", "mit-like"}


def key(name):
    """The comparison key of one licence name or identifier."""
    k = name.strip().lower()
    k = re.split(r"\s+with\s+|-with-", k)[0]
    k = re.sub(r"-(only|or-later)$", "", k).rstrip("+")
    k = re.sub(r"^((?:a|l)?gpl)v(\d)", r"\1-\2", k)
    k = SYNONYMS.get(k, k)
    if re.fullmatch(r"(a|l)?gpl-\d|gfdl-\d|apache-\d|mpl-\d|bsl-\d", k):
        k += ".0"
    return SYNONYMS.get(k, k)


def strata_keys(lics):
    """strata's licences: expressions split into their licences (an
    exception after WITH dropped), texts split at and/or/commas."""
    out = set()
    for l in lics or []:
        for part in re.split(r"\s+(?:AND|OR)\s+|[()]", l):
            part = re.split(r"\s+WITH\s+", part.strip())[0]
            for p in re.split(r"\s+(?:and/or|or|and)\s+|,\s*", part):
                if p.strip():
                    out.add(key(p))
    return out


def trivy_keys(names):
    """Trivy's names, split as strata's texts are (and/or, or, and)."""
    return {key(p) for n in names for p in re.split(r"\s+(?:and/or|or|and)\s+", n) if p.strip()}


def trivy_packages(trivy, cls_type):
    out = {}
    for r in trivy.get("Results") or []:
        if r.get("Type") != cls_type:
            continue
        for p in r.get("Packages") or []:
            out.setdefault(p["Name"], []).append(p)
    return out


def copyright_of(root, name):
    d = os.path.join(root, "usr/share/doc", name)
    for _ in range(4):
        if os.path.islink(d):
            d = os.path.join(os.path.dirname(d), os.readlink(d))
            continue
        break
    try:
        return open(os.path.join(d, "copyright"), encoding="utf-8", errors="replace").read()
    except OSError:
        return None


def machine_readable(text):
    first = text.lstrip().split("\n", 1)[0]
    return bool(re.match(r"(?i)format:.*(copyright-format|dep-?5)", first) or
                re.match(r"(?i)(files|upstream-name):", first))


def license_lines(text):
    return [l[8:].strip() for l in text.split("\n") if l.lower().startswith("license:")]


def standalone_only(text, k):
    """k is named by a stand-alone License paragraph and by no other."""
    alone = named = False
    for para in re.split(r"\n\s*\n", text):
        lines = [l for l in para.split("\n") if l.strip()]
        if not lines:
            continue
        for l in lines:
            if l.lower().startswith("license:") and k in trivy_keys([l[8:].strip()]):
                if lines[0] is l:
                    alone = True
                else:
                    named = True
    return alone and not named


def explain_trivy_only(k, name, text, ours, trivy_names):
    raw = [n for n in trivy_names if k in trivy_keys([n])]
    if k == "none":
        return "trivy-none"
    if k == "gpl-2.0" and any("with-bison" in n.lower() for n in raw) and re.search(r"(?i)GPL-3\+-WITH-BISON", text):
        return "trivy-bison"
    words = " ".join(raw)
    # Prose: a phrase, or a single word, cut out of a License: sentence.
    for line in license_lines(text):
        parts = [p.strip() for p in re.split(r"(,?[_ ]+(?:or|and)[_ ]+)|(,[ ]*)", line) if p and p.strip()]
        if len(line.split()) >= 4 and any(p in raw for p in parts):
            return "trivy-prose"
    if re.search(r"[a-z]", words) and " " in words and not re.search(r"(?i)gpl|bsd|mit|apache|artistic", words):
        return "trivy-prose"
    if k in ("gpl-3.0", "lgpl-3.0") and re.search(r"common-licenses/%s[^-0-9A-Za-z]" % k.split("-")[0].upper(), text):
        return "trivy-unversioned"
    if machine_readable(text) and standalone_only(text, k):
        return "trivy-standalone"
    refs = {key(m) for m in re.findall(r"/usr/share/common-licenses/([0-9A-Za-z_.+-]*[0-9A-Za-z+])", text)}
    if k in refs:
        return "trivy-reference"
    return None


def explain_strata_only(k, name, text, ours_raw, trivy_names):
    if not machine_readable(text):
        return "strata-free-form"
    if k == "gpl-1.0" and any(re.search(r"\bGPL\b(?![-+0-9])", l) for l in license_lines(text)):
        return "strata-any-gpl"
    if k in AMBIGUOUS and any(key(n).startswith(k) for n in trivy_names):
        return "strata-ambiguous"
    if k == "gpl-3.0" and re.search(r"(?i)GPL-3\+-WITH-BISON", text) and \
            any("with-bison" in n.lower() for n in trivy_names):
        return "trivy-bison"
    if any(re.search(r"\s(or|and/or)\s", l) or " and " in l for l in ours_raw if k in strata_keys([l])):
        return "strata-whole"
    return None


def report(counts, examples, unexplained, what):
    for rule in sorted(counts):
        print("%s: %-18s %4d  e.g. %s" % (what, rule, counts[rule], "; ".join(examples[rule][:3])))
    for u in unexplained[:40]:
        print("%s: UNEXPLAINED %s" % (what, u))
    if len(unexplained) > 40:
        print("%s: ... %d more unexplained" % (what, len(unexplained) - 40))


def cmd_licenses(report_path, trivy_path, root):
    rep = json.load(open(report_path))
    trivy = json.load(open(trivy_path))
    counts, examples, unexplained = {}, {}, []
    same = 0

    def note(rule, text):
        counts[rule] = counts.get(rule, 0) + 1
        examples.setdefault(rule, []).append(text)

    tdeb = trivy_packages(trivy, "debian")
    for p in rep.get("packages") or []:
        if p.get("type") != "deb" or p["name"] not in tdeb:
            continue
        t = tdeb[p["name"]][0]
        tnames = t.get("Licenses") or []
        tk = trivy_keys(tnames)
        sk = strata_keys(p.get("licenses"))
        text = copyright_of(root, p["name"]) or ""
        if tk == sk:
            same += 1
            continue
        if not tnames and sk and os.path.islink(os.path.join(root, "usr/share/doc", p["name"])):
            note("strata-doc-link", p["name"])
            continue
        for k in sorted(tk - sk):
            rule = explain_trivy_only(k, p["name"], text, sk, tnames)
            if rule:
                note(rule, "%s: %s" % (p["name"], k))
            else:
                unexplained.append("%s: Trivy has %s (%s), strata %s" % (p["name"], k, tnames, p.get("licenses")))
        for k in sorted(sk - tk):
            rule = explain_strata_only(k, p["name"], text, p.get("licenses") or [], tnames)
            if rule:
                note(rule, "%s: %s" % (p["name"], k))
            else:
                unexplained.append("%s: strata has %s (%s), Trivy %s" % (p["name"], k, p.get("licenses"), tnames))
    # npm: the package.json's own licence; both read it.
    tnpm = {}
    for r in trivy.get("Results") or []:
        if r.get("Type") == "node-pkg":
            for t in r.get("Packages") or []:
                tnpm["/" + t.get("FilePath", "")] = t
    nnpm = 0
    for p in rep.get("packages") or []:
        t = tnpm.get(p.get("path"))
        if p.get("type") != "npm" or not t:
            continue
        nnpm += 1
        tk, sk = {key(n) for n in t.get("Licenses") or []}, strata_keys(p.get("licenses"))
        if tk == sk:
            same += 1
        else:
            unexplained.append("npm %s: strata %s, Trivy %s" % (p["path"], p.get("licenses"), t.get("Licenses")))
    print("licenses: %d packages the same (%d npm), %d known divergences, %d unexplained" %
          (same, nnpm, sum(counts.values()), len(unexplained)))
    report(counts, examples, unexplained, "licenses")
    return not unexplained


def dpkg_status(root):
    stanzas, cur = [], {}
    for line in open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line:
            if cur:
                stanzas.append(cur)
            cur = {}
        elif line[0] in " \t":
            continue
        elif ":" in line:
            k, v = line.split(":", 1)
            cur[k] = v.strip()
    if cur:
        stanzas.append(cur)
    return {s["Package"]: s for s in stanzas if s.get("Status", "").endswith(" installed")}


def cmd_edges(report_path, trivy_path, root):
    rep = json.load(open(report_path))
    trivy = json.load(open(trivy_path))
    status = dpkg_status(root)
    pk = rep.get("packages") or []
    ours = {p["name"]: {pk[i]["name"] for i in p.get("dependencies") or []} for p in pk if p.get("type") == "deb"}
    theirs = {n: {d.rsplit("@", 1)[0] for d in (ps[0].get("DependsOn") or [])}
              for n, ps in trivy_packages(trivy, "debian").items()}
    counts, examples, unexplained = {}, {}, []

    def note(rule, text):
        counts[rule] = counts.get(rule, 0) + 1
        examples.setdefault(rule, []).append(text)

    for name in sorted(set(ours) | set(theirs)):
        for d in sorted(theirs.get(name, set()) - ours.get(name, set())):
            unexplained.append("%s -> %s: Trivy only" % (name, d))
        st = status.get(name, {})
        pre = {re.split(r"[ (:]", a.strip())[0] for i in st.get("Pre-Depends", "").split(",") for a in i.split("|")}
        items = [i.strip() for i in st.get("Depends", "").split(",") if i.strip()]
        for d in sorted(ours.get(name, set()) - theirs.get(name, set())):
            named = [i for i in items if re.split(r"[ (:|]", i)[0] == d or any(re.split(r"[ (:]", a.strip())[0] == d for a in i.split("|"))]
            if d in pre:
                note("deb-pre-depends", "%s -> %s" % (name, d))
            elif any(re.search(r"^\s*%s:\w+" % re.escape(d), a) for i in named for a in i.split("|")):
                note("deb-arch-qualified", "%s -> %s" % (name, d))
            elif not named:
                note("deb-virtual", "%s -> %s" % (name, d))
            else:
                unexplained.append("%s -> %s: strata only (%s)" % (name, d, named))
    n_ours = sum(len(v) for v in ours.values())
    n_theirs = sum(len(v) for v in theirs.values())
    print("edges: strata %d, Trivy %d; every Trivy edge is strata's: %s; %d unexplained" %
          (n_ours, n_theirs, not any("Trivy only" in u for u in unexplained), len(unexplained)))
    report(counts, examples, unexplained, "edges")
    return not unexplained


def main(argv):
    if len(argv) == 4 and argv[0] == "licenses":
        return 0 if cmd_licenses(*argv[1:]) else 1
    if len(argv) == 4 and argv[0] == "edges":
        return 0 if cmd_edges(*argv[1:]) else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
