"""The Elasticsearch/OpenSearch and rsyslog examples (examples/elasticsearch,
examples/rsyslog) against the documentation and the real rsyslogd.

- Every JSON file parses. The index templates map exactly the fields the
  documentation lists, read from its tables, so neither can drift:
  tlog-rec-* the message fields of doc/format.md and the recorder's
  extension fields of doc/recorder-fields.md (with the members of their
  JSON examples); tlog-audit-* the keys of doc/audit-json.md's table (with
  the members its rows name for paths, sockaddr, parents...).
- Types: ids and names keyword, numbers long, times date, timing and
  binary fields not indexed; no dynamic mapping.
- The OpenSearch 2 templates map the same as the Elasticsearch 8 ones;
  the lifecycle policies name both index patterns.
- rsyslogd -N1 accepts each rsyslog example.
Usage: examples_test.py SOURCE_ROOT"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = sys.argv[1]
ES = os.path.join(ROOT, "examples", "elasticsearch")
RSYSLOG = os.path.join(ROOT, "examples", "rsyslog")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def load(name):
    path = os.path.join(ES, name)
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            sys.exit("FAIL: %s: not JSON: %s" % (path, e))


def table_rows(md, heading):
    """The rows of the first table after HEADING, as lists of cells."""
    text = md[md.index(heading):]
    rows, started = [], False
    for line in text.splitlines()[1:]:
        if line.startswith("|"):
            started = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set(cells[0]) <= set("-: "):
                rows.append(cells)
        elif started:
            break
    return rows[1:]  # without the header


def names(cell):
    return re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cell)


def without_parentheses(cell):
    while True:
        s = re.sub(r"\([^()]*\)", "", cell)
        if s == cell:
            return s
        cell = s


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def documented_rec():
    """{field: None or {member: None}} from doc/format.md's message table and
    doc/recorder-fields.md's sections."""
    fields = {}
    for row in table_rows(read("doc/format.md"), "## Message fields"):
        for n in names(row[0]):
            fields[n] = None
    md = read("doc/recorder-fields.md")
    for m in re.finditer(r"^## `([a-z_]+)`\n(.*?)(?=^## |\Z)", md, re.M | re.S):
        name, body = m.group(1), m.group(2)
        block = re.search(r"```json\n(.*?)```", body, re.S)
        if block is None:
            fields[name] = None
            continue
        value = json.loads("{" + block.group(1) + "}")[name]
        if isinstance(value, list):
            value = value[0]
        fields[name] = {k: None for k in value}
    return fields


def documented_audit():
    """{key: None or {member: None}} from doc/audit-json.md's table. Members
    are the names the first sentence of a row's description gives outside
    parentheses, or `[{a, b}]`. `X_name` there adds NAME_name for the
    row's ids ending in uid or gid."""
    fields = {}
    for row in table_rows(read("doc/audit-json.md"), "## One event"):
        keys = names(row[0])
        if "`X_name`" in row[2]:
            keys += [k + "_name" for k in keys if k.endswith("uid") or k.endswith("gid")]
        listed = re.search(r"`\[\{([a-z_, ]+)\}\]`", row[2])
        members = ([m.strip() for m in listed.group(1).split(",")] if listed
                   else names(without_parentheses(row[2]).split(". ")[0]))
        for k in keys:
            fields[k] = {m: None for m in members}
    return fields


def check_fields(what, props, documented, path=""):
    got, want = set(props), set(documented)
    if got != want:
        fail("%s: %s: the template maps %s but the documentation lists %s (missing %s, extra %s)"
             % (what, path or "top level", sorted(got), sorted(want), sorted(want - got), sorted(got - want)))
    for name in got & want:
        sub = props[name].get("properties")
        if sub is not None:
            if not documented[name]:
                fail("%s: %s%s is an object in the template; the documentation names no members"
                     % (what, path, name))
            else:
                check_fields(what, sub, documented[name], path + name + ".")


ALLOWED = {"keyword", "text", "long", "integer", "short", "boolean", "date", "object"}


def leaves(props, path=""):
    for name, m in props.items():
        if "properties" in m:
            yield from leaves(m["properties"], path + name + ".")
        else:
            yield path + name, m


def check_template(name, documented, numbers, dates, not_indexed):
    es, os2 = load(name + ".index-template.json"), load(name + ".index-template.opensearch.json")
    mappings = es["template"]["mappings"]
    if mappings != os2["template"]["mappings"] or es["index_patterns"] != os2["index_patterns"]:
        fail("%s: the OpenSearch template maps differently from the Elasticsearch one" % name)
    if es["index_patterns"] != [name + "-*"]:
        fail("%s: index_patterns %r" % (name, es["index_patterns"]))
    # Unknown fields are kept in _source, not indexed: a future extension
    # field must neither be refused (strict would lose the message) nor
    # grow the mapping.
    if mappings.get("dynamic") is not False or mappings.get("date_detection") is not False:
        fail("%s: dynamic mapping is not off: %r" % (name, {k: mappings.get(k) for k in ("dynamic", "date_detection")}))
    settings = es["template"]["settings"]
    if settings.get("index.lifecycle.name") != "tlog-retention":
        fail("%s: the Elasticsearch template does not name the ILM policy tlog-retention" % name)
    if any("lifecycle" in k or "state_management" in k for k in os2["template"]["settings"]):
        fail("%s: the OpenSearch template carries a lifecycle setting; ISM attaches by ism_template" % name)
    check_fields(name, mappings["properties"], documented)
    for path, m in leaves(mappings["properties"]):
        t = m.get("type")
        if t not in ALLOWED:
            fail("%s: %s has type %r" % (name, path, t))
        if t == "object" and m.get("enabled") is not False:
            fail("%s: %s is an object of unknown members but is indexed" % (name, path))
        if path in numbers and t not in ("long", "integer", "short"):
            fail("%s: %s is a number, mapped as %r" % (name, path, t))
        if path in dates and (t != "date" or "format" not in m):
            fail("%s: %s is a time, mapped as %r" % (name, path, m))
        if path in not_indexed and (m.get("index") is not False or m.get("doc_values") is not False):
            fail("%s: %s should be kept in _source only (index and doc_values false): %r" % (name, path, m))
        if t == "keyword" and path not in not_indexed and m.get("index") is False:
            fail("%s: %s is a keyword that cannot be searched" % (name, path))
    return mappings["properties"]


rec = check_template(
    "tlog-rec", documented_rec(),
    numbers={"session", "id", "pos", "in_bin", "out_bin", "dropped.in_bytes", "dropped.out_bytes", "dropped.from",
             "dropped.to", "transfer.in_bytes", "transfer.out_bytes", "in_hidden.pos", "in_hidden.bytes",
             "out_redacted.pos", "out_redacted.bytes"},
    dates={"time"}, not_indexed={"timing", "in_bin", "out_bin", "mac"})
for f in ("host", "rec", "user", "term", "ver", "end", "mac_alg", "mac_key"):
    if rec[f]["type"] != "keyword":
        fail("tlog-rec: %s should be a keyword: %r" % (f, rec[f]))
for f in ("in_txt", "out_txt"):
    if rec[f]["type"] != "text":
        fail("tlog-rec: %s should be text (searched by words): %r" % (f, rec[f]))
if rec["time"]["format"] != "epoch_second":
    fail("tlog-rec: time is seconds since the epoch with three decimals: %r" % rec["time"])

audit = check_template(
    "tlog-audit", documented_audit(),
    numbers={"serial", "ses", "pid", "ppid", "auid", "uid", "euid", "suid", "fsuid", "gid", "egid", "syscall_nr",
             "exit", "argc", "sockaddr.port", "parents.pid", "failed_auth_before.serial"},
    dates={"time", "failed_auth_before.time"}, not_indexed=set())
for f in ("host", "rec", "type", "auid_name", "exe", "key", "addr", "hostname"):
    if audit[f]["type"] != "keyword":
        fail("tlog-audit: %s should be a keyword: %r" % (f, audit[f]))
for f in ("argv_hex",):
    if audit[f].get("enabled") is not False:
        fail("tlog-audit: %s has keys of the event's own: must not be mapped" % f)
if audit["records"]["properties"]["fields"].get("enabled") is not False:
    fail("tlog-audit: records.fields has the audit record's own names: must not be mapped")

ilm = load("tlog-retention.ilm-policy.json")
if "delete" not in ilm["policy"]["phases"]:
    fail("the ILM policy deletes nothing")
ism = load("tlog-retention.ism-policy.opensearch.json")
patterns = [p for t in ism["policy"]["ism_template"] for p in t["index_patterns"]]
if sorted(patterns) != ["tlog-audit-*", "tlog-rec-*"]:
    fail("the ISM policy applies to %r" % patterns)
if not any(a.get("delete") is not None for s in ism["policy"]["states"] for a in s["actions"]):
    fail("the ISM policy deletes nothing")
for path in glob.glob(os.path.join(ES, "*")):
    if not path.endswith(".json"):
        fail("%s: unexpected file" % path)

confs = sorted(glob.glob(os.path.join(RSYSLOG, "*.conf")))
if len(confs) != 4:
    fail("expected the four rsyslog examples, found %r" % confs)
# rsyslogd -N1 opens omelasticsearch's TLS files: the examples' paths are
# pointed at empty files of the test's.
tls_dir = tempfile.mkdtemp(prefix="tlog-examples-tls.")
for name in ("ca.pem", "host.pem", "host.key", "central.pem", "central.key"):
    open(os.path.join(tls_dir, name), "w").close()
for conf in confs:
    text = open(conf).read()
    checked = os.path.join(tls_dir, os.path.basename(conf))
    with open(checked, "w") as f:
        f.write(text.replace("/etc/rsyslog/tlog/", tls_dir + "/"))
    r = subprocess.run(["rsyslogd", "-N1", "-f", checked], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or "error" in r.stderr.lower():
        fail("rsyslogd -N1 -f %s: exit %d: %s" % (conf, r.returncode, r.stderr))
    if "https://" in text and "tls.mycert=" not in text:
        fail("%s posts over HTTPS without a client certificate" % conf)
    if 'server="http://' in text:
        fail("%s posts over plain HTTP" % conf)
    needs = ['action.resumeRetryCount="-1"', 'queue.filename=', 'queue.saveOnShutdown="on"']
    if "omelasticsearch" in text:
        needs += ['bulkmode="on"', 'esVersion.major="8"']
    for need in needs:
        if need not in text:
            fail("%s lacks %s" % (conf, need))
    if "searchType" in text:
        fail("%s sets searchType (mapping types are gone in Elasticsearch 8)" % conf)

shutil.rmtree(tls_dir, True)

if failures:
    sys.exit(1)
print("ok: %d + %d fields mapped as documented, %d rsyslog examples valid" % (len(rec), len(audit), len(confs)))
