#!/usr/bin/env python3
"""validate-sbom.py FORMAT FILE: checks an SBOM that strata wrote against the
JSON schema of its format, offline, and prints one line.

FORMAT is cyclonedx (CycloneDX 1.5: tests/data/schemas/bom-1.5.schema.json
with the spdx.schema.json and jsf-0.82.schema.json it references) or spdx
(SPDX 2.3: tests/data/schemas/spdx-schema.json, the official schema, when
present, else spdx-2.3-strata.schema.json; see the README there). The
schema's own $schema picks the draft (Draft 7, or 2019-09 for the official
SPDX one). Every $ref resolves to a file in tests/data/schemas: nothing is
fetched.

After the schema, the rules a schema cannot state: CycloneDX specVersion 1.5
and unique bom-refs; SPDX element ids unique, relationships pointing at
defined elements, the document describing something, and every LicenseRef-
in a license expression declared in hasExtractedLicensingInfos.

Exit status: 0 valid, 1 invalid (or unreadable), 2 usage, 77 when the
jsonschema module is missing (automake's "skipped").
"""
import json
import os
import re
import sys
import warnings

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "schemas")
FORMATS = {
    "cyclonedx": ("bom-1.5.schema.json", ["spdx.schema.json", "jsf-0.82.schema.json"]),
    # The official SPDX 2.3 schema, when someone has put it there, wins over
    # strata's transcription of the specification (see the README).
    "spdx": ("spdx-schema.json" if os.path.exists(os.path.join(SCHEMAS, "spdx-schema.json"))
             else "spdx-2.3-strata.schema.json", []),
}


def load(name):
    with open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
        return json.load(f)


def make_validator(jsonschema, main, extra):
    """A validator for schema file main whose $refs to the extra files (by
    their $id, or by file name relative to main's $id) resolve locally, on
    jsonschema 4.10 (RefResolver) as on 4.18+ (referencing)."""
    schema = load(main)
    others = {name: load(name) for name in extra}
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    base = schema.get("$id", main).rsplit("/", 1)[0] + "/"
    store = {}
    for name, doc in list(others.items()) + [(main, schema)]:
        store[doc.get("$id", base + name)] = doc
        store[base + name] = doc
    try:
        import referencing
        import referencing.jsonschema
    except ImportError:
        referencing = None
    if referencing is not None:
        resources = [(uri, referencing.Resource.from_contents(
            doc, default_specification=referencing.jsonschema.DRAFT7)) for uri, doc in store.items()]
        registry = referencing.Registry().with_resources(resources)
        try:
            return cls(schema, registry=registry)
        except TypeError:  # a jsonschema older than 4.18 beside a newer referencing
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        resolver = jsonschema.RefResolver(base_uri=schema.get("$id", ""), referrer=schema, store=store)
        return cls(schema, resolver=resolver)


def where(error):
    return "/" + "/".join(str(p) for p in error.absolute_path)


def cyclonedx_rules(doc):
    problems = []
    if doc.get("specVersion") != "1.5":
        problems.append("/specVersion: %r is not \"1.5\"" % doc.get("specVersion"))
    refs = {}
    comps = list(doc.get("components", []))
    root = doc.get("metadata", {}).get("component")
    if root:
        comps.append(root)
    while comps:
        c = comps.pop()
        comps.extend(c.get("components", []))
        ref = c.get("bom-ref")
        if ref is not None:
            refs[ref] = refs.get(ref, 0) + 1
    problems += ["bom-ref %r is used %d times" % (r, n) for r, n in refs.items() if n > 1]
    return problems, "%d components" % len(doc.get("components", []))


LICENSE_REF = re.compile(r"(?:DocumentRef-[A-Za-z0-9.+-]+:)?LicenseRef-[A-Za-z0-9.-]+")


def spdx_rules(doc):
    problems = []
    ids = {"SPDXRef-DOCUMENT": 1}
    for kind in ("packages", "files", "snippets"):
        for e in doc.get(kind, []):
            ids[e["SPDXID"]] = ids.get(e["SPDXID"], 0) + 1
    problems += ["SPDXID %r is used %d times" % (i, n) for i, n in ids.items() if n > 1]
    described = False
    for n, r in enumerate(doc.get("relationships", [])):
        for end in ("spdxElementId", "relatedSpdxElement"):
            v = r[end]
            if v not in ids and v not in ("NONE", "NOASSERTION") and not v.startswith("DocumentRef-"):
                problems.append("/relationships/%d/%s: %r is not an element of the document" % (n, end, v))
        if r["spdxElementId"] == "SPDXRef-DOCUMENT" and r["relationshipType"] == "DESCRIBES":
            described = True
    # Clause 7.8: a package with filesAnalyzed false contains no file.
    unanalyzed = {e["SPDXID"] for e in doc.get("packages", []) if e.get("filesAnalyzed") is False}
    files = {e["SPDXID"] for e in doc.get("files", [])}
    for n, r in enumerate(doc.get("relationships", [])):
        if r["relationshipType"] == "CONTAINS" and r["spdxElementId"] in unanalyzed and r["relatedSpdxElement"] in files:
            problems.append("/relationships/%d: %r has filesAnalyzed false but CONTAINS a file" % (n, r["spdxElementId"]))
    for n, e in enumerate(doc.get("packages", [])):
        if e.get("filesAnalyzed", True) and "packageVerificationCode" not in e:
            problems.append("/packages/%d: files analyzed but no packageVerificationCode" % n)
    if not described and not doc.get("documentDescribes"):
        problems.append("the document DESCRIBES nothing")
    declared = {e["licenseId"] for e in doc.get("hasExtractedLicensingInfos", [])}
    for kind in ("packages", "files"):
        for n, e in enumerate(doc.get(kind, [])):
            for field in ("licenseConcluded", "licenseDeclared"):
                for ref in LICENSE_REF.findall(e.get(field, "")):
                    if ref.startswith("LicenseRef-") and ref not in declared:
                        problems.append("/%s/%d/%s: %s is not in hasExtractedLicensingInfos" % (kind, n, field, ref))
    return problems, "%d packages, %d files" % (len(doc.get("packages", [])), len(doc.get("files", [])))


def main(argv):
    if len(argv) != 3 or argv[1].replace("-json", "") not in FORMATS:
        print("usage: validate-sbom.py cyclonedx|spdx FILE", file=sys.stderr)
        return 2
    fmt, path = argv[1].replace("-json", ""), argv[2]
    try:
        import jsonschema
        import jsonschema.validators
    except ImportError:
        print("skip: the python3 jsonschema module is not installed (Debian: python3-jsonschema)")
        return 77
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print("invalid %s: %s: cannot read: %s" % (fmt, path, e))
        return 1
    main_schema, extra = FORMATS[fmt]
    validator = make_validator(jsonschema, main_schema, extra)
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        first = jsonschema.exceptions.best_match(errors)
        msg = first.message if len(first.message) < 300 else first.message[:300] + "..."
        print("invalid %s: %s: %s: %s (%d schema error%s)" % (fmt, path, where(first), msg,
                                                              len(errors), "" if len(errors) == 1 else "s"))
        return 1
    problems, summary = (cyclonedx_rules if fmt == "cyclonedx" else spdx_rules)(doc)
    if problems:
        print("invalid %s: %s: %s (%d problem%s)" % (fmt, path, problems[0], len(problems),
                                                     "" if len(problems) == 1 else "s"))
        return 1
    print("valid %s: %s: %s against %s (jsonschema %s)" % (fmt, path, summary, main_schema, version(jsonschema)))
    return 0


def version(module):
    try:
        from importlib.metadata import version as v
        return v("jsonschema")
    except Exception:
        return getattr(module, "__version__", "?")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
