#!/usr/bin/env python3
"""analyze-truth.py: what `strata analyze` must find, worked out independently.

The truth comes from an unpacked root file system (`umoci unpack`) and from
the tools each ecosystem ships, never from strata's own code:

  truth ROOTFS >truth.json
      distro   /etc/os-release (or /usr/lib/os-release, resolved inside ROOTFS)
      deb      dpkg-query --admindir=ROOTFS/var/lib/dpkg (installed packages)
      python   every *.dist-info / *.egg-info (directory or file); name and
               version from METADATA / PKG-INFO through email.parser
      npm      `npm ls --all --json --long` in every project directory (one
               holding node_modules outside any node_modules); needs npm
      npm_manifests  package.json files outside node_modules that have a
               name and a version (json module): may be reported or not
      deb_edges   name -> names it depends on: dpkg-query's Pre-Depends and
               Depends, each item satisfied by its first alternative that
               is installed or that an installed package Provides
      npm_edges   package.json path -> the package.json paths of what it
               depends on, as `npm ls --all --json --long` resolved them
      deb_owners  path -> the packages whose info/*.list name it (not as a
               directory of theirs), links in the path resolved inside ROOT
               (the last component kept: a package may own a link)
      deb_modified  the paths whose md5 is not what info/*.md5sums says
      maven    every regular *.jar/*.war/*.ear file, nested archives opened
               in memory: one row per META-INF/maven/*/*/pom.properties
      gem      every specifications/**/*.gemspec: name and version from the
               file name (the gemspec's own fields are not parsed here)
  layers LAYOUT TAG >layers.tsv
      path -> diff_id of the topmost layer holding a non-whiteout entry for
      it (python tarfile over the layer blobs; gzip or uncompressed)
  check-packages TYPE REPORT TRUTH
      the report's packages of TYPE equal the truth (TYPE deb, python, npm,
      gem: as sets; maven: the rows of every jar that has pom.properties)
  check-edges TYPE REPORT TRUTH
      each package's dependencies in the report (names for deb, package.json
      paths for npm) equal the truth's
  check-owners REPORT TRUTH
      the owners of the report's files (names of their "packages") equal
      deb_owners, and the files marked modified equal deb_modified
  check-secrets REPORT PLANTED.tsv
      every planted row is reported (rule, path, line); nothing at a decoy
      line, nothing in a deleted file, nothing else in the planted files
  check-files REPORT ROOTFS [LAYERS.tsv] [SAMPLE]
      the report's files are the tree's entries (path, type, mode, uid, gid,
      size, link); SAMPLE regular files (default 300) have the right sha256,
      and, given LAYERS.tsv, the right layer
Each check prints what differs (at most 20 lines each way) and exits 1 on a
difference, 0 otherwise. Python standard library only.
"""

import email.parser
import hashlib
import io
import json
import os
import random
import re
import stat
import subprocess
import sys
import tarfile
import zipfile

MAX_NEST = 8          # nested archive depth followed by the maven truth
MAX_MEMBER = 256 << 20  # largest nested archive read into memory


def norm_python(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def under(root, path):
    """ROOT-relative absolute path of a host path below ROOT."""
    rel = os.path.relpath(path, root)
    return "/" if rel == "." else "/" + rel


def resolve_in(root, rel, depth=0):
    """Host path of REL inside ROOT, symlinks resolved as if ROOT were /."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    cur = []
    while parts:
        p = parts.pop(0)
        if p == "..":
            if cur:
                cur.pop()
            continue
        host = os.path.join(root, *cur, p)
        if os.path.islink(host):
            if depth > 40:
                return None
            t = os.readlink(host)
            base = [] if t.startswith("/") else cur
            return resolve_in(root, "/".join(base + [t] + parts), depth + 1)
        cur.append(p)
    return os.path.join(root, *cur)


# --- truth ------------------------------------------------------------------


def os_release(root):
    for rel in ("etc/os-release", "usr/lib/os-release"):
        p = resolve_in(root, rel)
        if p and os.path.isfile(p):
            out = {}
            for line in open(p, errors="replace"):
                m = re.match(r'^([A-Z_]+)=(.*)$', line.strip())
                if m:
                    v = m.group(2)
                    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                        v = v[1:-1]
                    out[m.group(1).lower()] = v
            return {k: out.get(k) for k in ("id", "version_id", "name", "pretty_name", "version_codename")}
    return None


def deb_truth(root):
    admin = os.path.join(root, "var/lib/dpkg")
    if not os.path.isfile(os.path.join(admin, "status")):
        return []
    out = subprocess.run(
        ["dpkg-query", "--admindir=" + admin, "-W", "-f",
         "${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\n"],
        check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        st, name, ver, arch = line.split("\t")
        if st == "installed":
            rows.append({"name": name, "version": ver, "architecture": arch})
    return rows


def deb_edges(root):
    admin = os.path.join(root, "var/lib/dpkg")
    if not os.path.isfile(os.path.join(admin, "status")):
        return {}
    out = subprocess.run(
        ["dpkg-query", "--admindir=" + admin, "-W", "-f",
         "${db:Status-Status}\t${Package}\t${Pre-Depends}\t${Depends}\t${Provides}\n"],
        check=True, capture_output=True, text=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    rows = [r for r in rows if r[0] == "installed"]
    installed = {r[1] for r in rows}
    providers = {}
    for r in rows:
        for item in filter(None, (x.strip() for x in r[4].split(","))):
            providers.setdefault(re.split(r"[ (:]", item)[0], set()).add(r[1])
    edges = {}
    for r in rows:
        deps = set()
        for item in filter(None, (x.strip() for x in (r[2] + "," + r[3]).split(","))):
            for alt in item.split("|"):
                name = re.split(r"[ (:]", alt.strip())[0]
                found = {name} if name in installed else providers.get(name, set())
                if found:
                    deps |= found
                    break
        deps.discard(r[1])
        edges[r[1]] = sorted(deps)
    return edges


def resolve_parent(root, rel):
    """ROOT-relative path of REL with links resolved in its directories only."""
    d, base = os.path.split(rel)
    host = resolve_in(root, d)
    return None if host is None else under(root, os.path.join(host, base))


def deb_owners(root):
    info = os.path.join(root, "var/lib/dpkg/info")
    owners, modified = {}, set()
    if not os.path.isdir(info):
        return {}, []
    for name in sorted(os.listdir(info)):
        pkg, ext = os.path.splitext(name)
        pkg = pkg.split(":")[0]
        if ext == ".list":
            paths = [l for l in open(os.path.join(info, name), encoding="utf-8", errors="surrogateescape").read().splitlines() if l and l != "/."]
            dirs = {os.path.dirname(p) for p in paths}
            for p in paths:
                if p in dirs:
                    continue
                where = resolve_parent(root, p)
                host = where and os.path.join(root, where.lstrip("/"))
                if host and os.path.lexists(host) and not (os.path.isdir(host) and not os.path.islink(host)):
                    owners.setdefault(where, set()).add(pkg)
        elif ext == ".md5sums":
            for line in open(os.path.join(info, name), encoding="utf-8", errors="surrogateescape"):
                want, p = line.rstrip("\n").split("  ", 1)
                where = resolve_parent(root, "/" + p)
                host = where and os.path.join(root, where.lstrip("/"))
                if host and os.path.isfile(host) and not os.path.islink(host):
                    if hashlib.md5(open(host, "rb").read()).hexdigest() != want.lower():
                        modified.add(where)
    return {k: sorted(v) for k, v in owners.items()}, sorted(modified)


def python_truth(root):
    rows = []
    for d, dirs, files in os.walk(root):
        for n in sorted(dirs + files):
            if not (n.endswith(".dist-info") or n.endswith(".egg-info")):
                continue
            p = os.path.join(d, n)
            if os.path.islink(p):
                continue
            if os.path.isdir(p):
                meta = os.path.join(p, "METADATA" if n.endswith(".dist-info") else "PKG-INFO")
            else:
                meta = p
            if not os.path.isfile(meta) or os.path.islink(meta):
                continue
            with open(meta, "rb") as f:
                msg = email.parser.BytesHeaderParser().parse(f)
            name, ver = msg.get("Name"), msg.get("Version")
            if name and ver:
                rows.append({"name": str(name).strip(), "version": str(ver).strip(), "path": under(root, meta)})
    return rows


def npm_projects(root):
    for d, dirs, files in os.walk(root):
        if "node_modules" in dirs:
            if "/node_modules/" not in d + "/":
                yield d
            dirs.remove("node_modules")
        dirs[:] = [x for x in dirs if not os.path.islink(os.path.join(d, x))]


def npm_truth(root):
    rows = {}
    for proj in npm_projects(root):
        env = dict(os.environ, npm_config_update_notifier="false")
        res = subprocess.run(["npm", "ls", "--all", "--json", "--long", "--userconfig", "/dev/null"],
                             cwd=proj, capture_output=True, text=True, env=env)
        tree = json.loads(res.stdout or "{}")
        stack = [tree]
        while stack:
            node = stack.pop()
            for dep in (node.get("dependencies") or {}).values():
                if dep.get("path") and dep.get("version") and not dep.get("missing"):
                    pj = under(root, dep["path"]) + "/package.json"
                    rows[pj] = {"name": dep["name"], "version": dep["version"], "path": pj}
                stack.append(dep)
    return sorted(rows.values(), key=lambda r: r["path"])


def npm_edges(root):
    edges = {}
    for proj in npm_projects(root):
        env = dict(os.environ, npm_config_update_notifier="false")
        res = subprocess.run(["npm", "ls", "--all", "--json", "--long", "--userconfig", "/dev/null"],
                             cwd=proj, capture_output=True, text=True, env=env)
        tree = json.loads(res.stdout or "{}")
        tree["path"] = proj
        stack = [tree]
        while stack:
            node = stack.pop()
            if not node.get("path"):
                continue
            here = under(root, node["path"]) + "/package.json"
            deps = edges.setdefault(here, set())
            for dep in (node.get("dependencies") or {}).values():
                if dep.get("path") and not dep.get("missing"):
                    deps.add(under(root, dep["path"]) + "/package.json")
                    stack.append(dep)
    return {k: sorted(v) for k, v in edges.items()}


def pom_rows(data, where, depth, rows):
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    for n in names:
        if re.match(r"^META-INF/maven/[^/]+/[^/]+/pom\.properties$", n):
            props = {}
            for line in z.read(n).decode("utf-8", "replace").splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "!")) and "=" in line:
                    k, v = line.split("=", 1)
                    props[k.strip()] = v.strip()
            if props.get("artifactId") and props.get("version"):
                rows.append({"group": props.get("groupId", ""), "name": props["artifactId"],
                             "version": props["version"], "path": where})
    if depth >= MAX_NEST:
        return
    for info in z.infolist():
        if info.filename.lower().endswith((".jar", ".war", ".ear")) and info.file_size <= MAX_MEMBER:
            pom_rows(z.read(info), where + "!/" + info.filename, depth + 1, rows)


def maven_truth(root):
    rows = []
    for d, dirs, files in os.walk(root):
        for n in sorted(files):
            p = os.path.join(d, n)
            if n.lower().endswith((".jar", ".war", ".ear")) and os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    pom_rows(f.read(), under(root, p), 0, rows)
    return rows


def gem_truth(root):
    rows = []
    for d, dirs, files in os.walk(root):
        if "/specifications" not in under(root, d):
            continue
        for n in sorted(files):
            p = os.path.join(d, n)
            if not n.endswith(".gemspec") or os.path.islink(p):
                continue
            parts = n[:-len(".gemspec")].split("-")
            i = next((k for k in range(1, len(parts)) if parts[k][:1].isdigit()), None)
            if i is None:
                continue
            rows.append({"name": "-".join(parts[:i]), "version": "-".join(parts[i:]), "path": under(root, p)})
    return rows


def npm_manifests(root):
    """package.json files outside node_modules that name a package (python json)."""
    rows = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != "node_modules"]
        p = os.path.join(d, "package.json")
        if "package.json" in files and not os.path.islink(p):
            try:
                doc = json.load(open(p, encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(doc, dict) and isinstance(doc.get("name"), str) and isinstance(doc.get("version"), str):
                rows.append({"name": doc["name"], "version": doc["version"], "path": under(root, p)})
    return rows


def cmd_truth(root):
    root = os.path.abspath(root)
    owners, modified = deb_owners(root)
    json.dump({"distro": os_release(root), "deb": deb_truth(root), "python": python_truth(root),
               "npm": npm_truth(root), "npm_manifests": npm_manifests(root), "maven": maven_truth(root),
               "gem": gem_truth(root), "deb_edges": deb_edges(root), "npm_edges": npm_edges(root),
               "deb_owners": owners, "deb_modified": modified},
              sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


# --- layers -----------------------------------------------------------------


def blob(layout, digest):
    return os.path.join(layout, "blobs", *digest.split(":", 1))


def cmd_layers(layout, tag):
    index = json.load(open(os.path.join(layout, "index.json")))
    man = next(m for m in index["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    manifest = json.load(open(blob(layout, man["digest"])))
    config = json.load(open(blob(layout, manifest["config"]["digest"])))
    owner = {}
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
        with tarfile.open(blob(layout, layer["digest"]), "r:*") as t:
            for m in t:
                name = "/" + m.name.lstrip("./").rstrip("/")
                base = os.path.basename(name)
                if base == ".wh..wh..opq":
                    d = os.path.dirname(name)
                    for k in [k for k in owner if k.startswith(d.rstrip("/") + "/")]:
                        del owner[k]
                elif base.startswith(".wh."):
                    gone = os.path.join(os.path.dirname(name), base[4:])
                    for k in [k for k in owner if k == gone or k.startswith(gone + "/")]:
                        del owner[k]
                else:
                    owner[name] = diff_id
    for k in sorted(owner):
        sys.stdout.write("%s\t%s\n" % (k, owner[k]))


# --- checks -----------------------------------------------------------------


def show_diff(what, missing, extra):
    ok = not missing and not extra
    for label, rows in (("missing from the report", missing), ("not in the truth", extra)):
        rows = sorted(rows)
        for r in rows[:20]:
            print("%s %s: %s" % (what, label, r))
        if len(rows) > 20:
            print("%s %s: ... %d more" % (what, label, len(rows) - 20))
    return ok


def report_packages(report, typ):
    return [p for p in report.get("packages") or [] if p.get("type") == typ]


def cmd_check_packages(typ, report_path, truth_path):
    report = json.load(open(report_path))
    truth = json.load(open(truth_path))
    got = report_packages(report, typ)
    if typ == "deb":
        want = {(r["name"], r["version"], r["architecture"]) for r in truth["deb"]}
        have = {(p.get("name"), p.get("version"), p.get("architecture")) for p in got}
    elif typ == "python":
        want = {(norm_python(r["name"]), r["version"]) for r in truth["python"]}
        have = {(norm_python(p.get("name") or ""), p.get("version")) for p in got}
    elif typ == "npm":
        want = {(r["name"], r["version"], os.path.dirname(r["path"])) for r in truth["npm"]}
        have = {(p.get("name"), p.get("version"), os.path.dirname(p.get("path") or "")) for p in got}
        # A package.json outside node_modules (a project's own, npm ls leaves it
        # out) may be reported or not; when it is, with its own name and version.
        manifests = {(r["name"], r["version"], os.path.dirname(r["path"])) for r in truth["npm_manifests"]}
        for h in sorted(have & manifests, key=str):
            print("npm: note: a project's own package.json is reported: %s@%s in %s" % h)
        have -= manifests
    elif typ == "gem":
        want = {(r["name"], r["version"], r["path"]) for r in truth["gem"]}
        have = {(p.get("name"), p.get("version"), p.get("path")) for p in got}
    elif typ == "maven":
        # A jar that has pom.properties is what they say, nothing else (no second
        # identity from its MANIFEST.MF); jars without one may be reported as the
        # analyzer sees fit.
        want = {(r["group"], r["name"], r["version"], r["path"]) for r in truth["maven"]}
        have = {(p.get("group"), p.get("name"), p.get("version"), p.get("path")) for p in got}
        known = {r[3] for r in want}
        other = {h for h in have if h[3] not in known}
        for r in sorted(other, key=str)[:10]:
            print("maven: note: a jar without pom.properties: %s" % (r,))
        have -= other
        print("%s: %d rows for the %d jars with pom.properties, %d in the truth" % (typ, len(have), len(known), len(want)))
        return show_diff(typ, want - have, have - want)
    else:
        raise SystemExit("unknown type " + typ)
    print("%s: %d in the report, %d in the truth" % (typ, len(have), len(want)))
    return show_diff(typ, want - have, have - want)


def cmd_check_edges(typ, report_path, truth_path):
    report = json.load(open(report_path))
    truth = json.load(open(truth_path))
    pk = report.get("packages") or []
    key = (lambda p: p.get("name")) if typ == "deb" else (lambda p: p.get("path"))
    have = {}
    for p in report_packages(report, typ):
        have[key(p)] = sorted({key(pk[i]) for i in p.get("dependencies") or []})
    want = truth[typ + "_edges"]
    if typ == "npm":
        # npm ls knows the projects under node_modules trees only.
        have = {k: v for k, v in have.items() if k in want}
    missing = {(k, d) for k, v in want.items() for d in v if d not in have.get(k, [])}
    extra = {(k, d) for k, v in have.items() for d in v if d not in want.get(k, [])}
    print("%s: %d edges in the report, %d in the truth" % (typ, sum(len(v) for v in have.values()),
                                                           sum(len(v) for v in want.values())))
    return show_diff(typ + " edge", missing, extra)


def cmd_check_owners(report_path, truth_path):
    report = json.load(open(report_path))
    truth = json.load(open(truth_path))
    pk = report.get("packages") or []
    have = {f["path"]: sorted({pk[i]["name"] for i in f["packages"]}) for f in report.get("files") or [] if f.get("packages")}
    want = truth["deb_owners"]
    missing = {(k, tuple(v)) for k, v in want.items() if have.get(k) != v}
    extra = {(k, tuple(v)) for k, v in have.items() if want.get(k) != v}
    print("owners: %d owned files in the report, %d in the truth" % (len(have), len(want)))
    ok = show_diff("owner", missing, extra)
    mod = sorted(f["path"] for f in report.get("files") or [] if f.get("modified"))
    print("modified: %s in the report, %s in the truth" % (mod, truth["deb_modified"]))
    named = sorted(p for x in pk for p in x.get("modified_files") or [])
    return show_diff("modified", set(truth["deb_modified"]) - set(mod), set(mod) - set(truth["deb_modified"])) and ok and \
        len(named) >= len(mod)


def cmd_check_secrets(report_path, tsv):
    report = json.load(open(report_path))
    planted, decoys, deleted = set(), set(), set()
    for row in open(tsv):
        if row.startswith("#") or not row.strip():
            continue
        path, rule, line = row.rstrip("\n").split("\t")[:3]
        {"decoy": decoys, "deleted": deleted}.get(rule, planted).add((rule, path, int(line)))
    found = {(s.get("rule"), s.get("path"), s.get("line")) for s in report.get("secrets") or []}
    ok = show_diff("secret", planted - found, set())
    files = {p for _, p, _ in planted | decoys}
    for rule, path, line in sorted(found, key=str):
        if any(path == p and line == l for _, p, l in decoys):
            print("secret at a decoy line: %s %s:%s" % (rule, path, line))
            ok = False
        elif any(path == p for _, p, _ in deleted):
            print("secret in a deleted file: %s %s:%s" % (rule, path, line))
            ok = False
        elif path in files and (rule, path, line) not in planted:
            lines = {l for _, p, l in planted if p == path}
            if line in lines:
                print("note: a second rule on a planted line: %s %s:%s" % (rule, path, line))
            else:
                print("secret at an unplanted line of a planted file: %s %s:%s" % (rule, path, line))
                ok = False
    gone = {p for _, p, _ in deleted}
    others = sorted({(r, p, l) for r, p, l in found if p not in files and p not in gone}, key=str)
    for r in others[:20]:
        print("note: also reported outside the planted files: %s %s:%s" % r)
    print("secrets: %d reported, %d planted, %d decoys" % (len(found), len(planted), len(decoys) + len(deleted)))
    return ok


TYPES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFCHR: "char",
         stat.S_IFBLK: "block", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket"}


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def cmd_check_files(report_path, root, layers_tsv=None, sample=300):
    report = json.load(open(report_path))
    root = os.path.abspath(root)
    want = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            row = (TYPES[stat.S_IFMT(st.st_mode)], stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if stat.S_ISREG(st.st_mode):
                row += (st.st_size,)
            if stat.S_ISLNK(st.st_mode):
                row += (os.readlink(p),)
            want[under(root, p)] = row
    have, entries = {}, {}
    for e in report.get("files") or []:
        if e.get("path") == "/":
            continue
        row = (e.get("type"), e.get("mode"), e.get("uid"), e.get("gid"))
        if e.get("type") == "file":
            row += (e.get("size"),)
        if e.get("type") == "symlink":
            row += (e.get("link"),)
        have[e.get("path")] = row
        entries[e.get("path")] = e
    ok = show_diff("files", {(k,) + v for k, v in want.items() if have.get(k) != v},
                   {(k,) + v for k, v in have.items() if want.get(k) != v})
    print("files: %d in the report, %d in the tree" % (len(have), len(want)))
    owner = {}
    if layers_tsv:
        for line in open(layers_tsv):
            k, v = line.rstrip("\n").split("\t")
            owner[k] = v
    regular = sorted(k for k, v in want.items() if v[0] == "file" and k in entries)
    rng = random.Random(1)
    picked = rng.sample(regular, min(sample, len(regular)))
    bad = 0
    for k in picked:
        e = entries[k]
        if e.get("sha256") != sha256_file(root + k):
            print("sha256 differs: %s" % k)
            bad += 1
        if layers_tsv and e.get("layer") != owner.get(k):
            print("layer differs: %s: %s, want %s" % (k, e.get("layer"), owner.get(k)))
            bad += 1
        if not layers_tsv and "layer" in e:
            print("a directory's file has a layer: %s" % k)
            bad += 1
    print("checked sha256%s of %d regular files: %d wrong" % (" and layer" if layers_tsv else "", len(picked), bad))
    return ok and bad == 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "truth":
        cmd_truth(argv[1])
        return 0
    if len(argv) == 3 and argv[0] == "layers":
        cmd_layers(argv[1], argv[2])
        return 0
    if len(argv) == 4 and argv[0] == "check-packages":
        return 0 if cmd_check_packages(*argv[1:]) else 1
    if len(argv) == 4 and argv[0] == "check-edges":
        return 0 if cmd_check_edges(*argv[1:]) else 1
    if len(argv) == 3 and argv[0] == "check-owners":
        return 0 if cmd_check_owners(*argv[1:]) else 1
    if len(argv) == 3 and argv[0] == "check-secrets":
        return 0 if cmd_check_secrets(*argv[1:]) else 1
    if len(argv) >= 3 and argv[0] == "check-files":
        layers = argv[3] if len(argv) > 3 and argv[3] != "-" else None
        sample = int(argv[4]) if len(argv) > 4 else 300
        return 0 if cmd_check_files(argv[1], argv[2], layers, sample) else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
