#!/usr/bin/env python3
"""Generates the other schema forms from an OpenLDAP .schema file.

usage: gen_schema.py cnconfig NAME IN.schema OUT.ldif   (OpenLDAP cn=config)
       gen_schema.py 389ds ORIGIN IN.schema OUT.ldif    (389-ds/FreeIPA cn=schema)
       gen_schema.py ipaupdate ORIGIN IN.schema OUT.update  (ipa-ldap-updater)

The .schema file is the one source; both outputs expand objectIdentifier
macros, so they carry plain numeric OIDs. Errors name the file and line.
"""
import re
import sys


def fail(msg):
    sys.exit("gen_schema.py: " + msg)


def parse(path):
    """Returns [(kind, text)] with kind 'attributetype' or 'objectclass'."""
    macros = {}
    items = []
    cur = None
    start = 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines, 1):
        if line.startswith("#") or not line.strip():
            if cur is not None and not line.strip():
                items.append((cur[0], " ".join(cur[1]), start))
                cur = None
            continue
        if line[0] in " \t":
            if cur is None:
                fail(f"{path}:{n}: continuation line outside a definition")
            cur[1].append(line.strip())
            continue
        if cur is not None:
            items.append((cur[0], " ".join(cur[1]), start))
            cur = None
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word == "objectidentifier":
            parts = rest.split()
            if len(parts) != 2:
                fail(f"{path}:{n}: objectIdentifier needs NAME OID")
            macros[parts[0]] = expand(parts[1], macros, path, n)
        elif word in ("attributetype", "objectclass"):
            cur = (word, [rest.strip()])
            start = n
        else:
            fail(f"{path}:{n}: unknown keyword {word!r}")
    if cur is not None:
        items.append((cur[0], " ".join(cur[1]), start))
    out = []
    for kind, text, n in items:
        m = re.match(r"\(\s*(\S+)\s+(.*)\)\s*$", text)
        if not m:
            fail(f"{path}:{n}: definition must be ( OID ... )")
        oid = expand(m.group(1), macros, path, n)
        body = re.sub(r"\s+", " ", m.group(2)).strip()
        out.append((kind, f"( {oid} {body} )"))
    return out


def expand(oid, macros, path, n):
    if re.fullmatch(r"[0-9]+(\.[0-9]+)*", oid):
        return oid
    name, _, suffix = oid.partition(":")
    if name not in macros:
        fail(f"{path}:{n}: unknown OID macro {name!r}")
    return macros[name] + ("." + suffix.replace(":", ".") if suffix else "")


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("cnconfig", "389ds", "ipaupdate"):
        fail(__doc__)
    form, name, src, dst = sys.argv[1:]
    defs = parse(src)
    header = f"# Generated from {src.rsplit('/', 1)[-1]} by gen_schema.py: edit that file, not this one.\n"
    with open(dst, "w", encoding="utf-8") as f:
        f.write(header)
        if form == "cnconfig":
            f.write(f"dn: cn={name},cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: {name}\n")
            for kind, text in defs:
                key = "olcAttributeTypes" if kind == "attributetype" else "olcObjectClasses"
                f.write(f"{key}: {text}\n")
        elif form == "ipaupdate":
            # ipa-ldap-updater: one add: per value; "$" is written "$$".
            f.write("dn: cn=schema\n")
            for kind, text in defs:
                key = "attributeTypes" if kind == "attributetype" else "objectClasses"
                value = text[:-1].replace("$", "$$") + f"X-ORIGIN '{name}' )"
                f.write(f"add:{key}: {value}\n")
        else:
            f.write("dn: cn=schema\n")
            for kind, text in defs:
                key = "attributeTypes" if kind == "attributetype" else "objectClasses"
                f.write(f"{key}: {text[:-1]}X-ORIGIN '{name}' )\n")


main()
