"""The fast paths of the config load, resolve and lint give what the plain versions give.

Issue 12's bench (bench/bench_config.py) made parsing, resolving and linting faster with
shortcuts that could diverge: str.splitlines(), the loader's per-file NUL/length check,
the option index of PjsipObject, validate()'s known-name set, the reference lint's
single-target shortcut and the overlap sweep's kept active list. Each is compared here
with its plain version (tests/unit/lint_reference.py, or the scanner) on random input.
"""

from __future__ import annotations

import gc
import tempfile
import weakref
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit import lint_reference as ref
from trunkconsole.conf.lines import split_lines, split_lines_reference
from trunkconsole.conf.loader import Documents, Loader
from trunkconsole.conf.tree import LoadedConfig
from trunkconsole.pjsip.lint import config_findings, trunk_plan
from trunkconsole.pjsip.lint_objects import reference_findings
from trunkconsole.pjsip.lint_trunks import ip_trunks, overlap_findings, trunk_findings
from trunkconsole.pjsip.objects import ACCUMULATING
from trunkconsole.pjsip.system import AsteriskConfig, load_asterisk

SEPARATORS = st.lists(st.sampled_from(
    ["a", " ", "\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
     "\u2029", "é", ";"]), max_size=40).map("".join)


@given(SEPARATORS)
def test_split_lines_equals_the_reference(text: str) -> None:
    assert split_lines(text) == split_lines_reference(text)


# Lines for the loader: every branch of the inline path, a line over fgets()'s limit,
# NUL bytes and BOMs (which make the file take the per-line checks).
LOADER_LINES = st.sampled_from([
    "[s]", "[t](!)", "[u](t)", "[s](+)", " [v](t,!) ; note", "key=value", "key => v",
    "k+=x", "k += y ", "match=1.2.3.4 ; c", "a=b\\;c", "a=b--;c", ";--", "--;", ";---x",
    "#include x.conf", "\\ x", "= v", "noequals", "\ufeffk=v", "\ufeff[w]", "k=v\x00tail",
    "long=" + "x" * 2100, "long=" + "é" * 4100, "\t a \t=\t b \t", "[bad", "[bad](x",
    "k=>", "k=", "", " ", "\r",
    # Blanks to Asterisk but not whitespace to str.strip(), and the reverse: a file with
    # any of them strips with BLANKS, one without with str.strip() (whitespace_blanks).
    "\x01k=v\x02", "k=\x1bv\x0e", "\x0bk\x0c=\x1cv\x1f", "k=\xa0v\xa0", "\u3000[w]\u2028",
    "\x85k=v", "[s\x01](t)", "k\x7f=v",
    # Headers the simple loop's pattern must read as the scanner does.
    "[]", "[u](T)", "[w](t)x", "[a(b]", "[y](x]y)", "[z]()", "[q](t,t)", "[r](", "=v",
])
LOADER_TEXT = st.lists(LOADER_LINES, max_size=40).map("\n".join)


def snapshot(config: LoadedConfig) -> object:
    return ([(c.name, c.template, c.bases, c.additions,
              [(v.name, v.value, v.file, v.line, v.section, v.object, v.appended)
               for v in c.variables]) for c in config.categories],
            config.issues, config.valid, config.files)


@settings(max_examples=300, deadline=None)
@given(LOADER_TEXT)
def test_loader_inline_path_equals_scanner_path_with_long_lines_and_nul(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "pjsip.conf").write_text(text, errors="surrogateescape")
        (directory / "x.conf").write_text("[inc]\nk=v\n")
        fast = Loader(Documents(directory)).load("pjsip.conf")
        slow_loader = Loader(Documents(directory))
        slow_loader.inline = False
        slow = slow_loader.load("pjsip.conf")
    assert snapshot(fast) == snapshot(slow)


IDS = st.sampled_from(["t1", "t2", "T1", "t 3", "x", "udp", "a1"])
MATCHES = st.sampled_from([
    "203.0.113.1", "203.0.113.0/24", "203.0.113.0/255.255.255.0", "203.0.113.5/255.0.255.0",
    "198.51.100.7:5060", "198.51.100.7", "[2001:db8::1]", "[2001:db8::1]:5061",
    "2001:db8::/32", "2001:db8::10/120", "2001:db8::/16", "10.0.0.0/8", "0.0.0.0/0",
    "sip.example.net", "sip.example.net:5060", "bad/99", "1.2.3.4/33", "2001:db8:1::/48",
    "203.0.113.0/25", "203.0.113.128/25", " 203.0.113.9 ", "",
])
OPTIONS = {
    "endpoint": ["allow=ulaw", "disallow=all", "Allow=alaw", "DISALLOW = ALL", "allow=",
                 "direct_media=no", "direct_media=yes", "rtp_symmetric=yes", "force_rport=no",
                 "rewrite_contact=on", "identify_by=ip", "identify_by=username, ip",
                 "aors={id}", "aors= {id} , {id}", "aors=,", "auth={id}", "AUTH=",
                 "outbound_auth={id},{id}", "transport={id}", "transport= {id}\u00a0",
                 "context=from-trunk", "context=from-pstn", "bogus=1", "@custom=1", "AORS={id}"],
    "identify": ["endpoint={id}", "endpoint=", "match={m}", "Match={m},{m}", "MATCH= {m} ,",
                 "match_header=X-A: b", "srv_lookups=yes", "endpoint= {id} "],
    "aor": ["contact=sip:a@b", "max_contacts=1", "qualify_frequency=60", "foo=1"],
    "auth": ["username=u", "password=p", "auth_type=userpass"],
    "transport": ["protocol=udp", "bind=0.0.0.0"],
    "registration": ["outbound_auth={id}", "transport={id}", "server_uri=sip:a@b"],
}


@st.composite
def pjsip_conf(draw: st.DrawFn) -> str:
    """Sections of every type with random option lines, ids and matches."""
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=14))):
        kind = draw(st.sampled_from(sorted(OPTIONS)))
        lines += [f"[{draw(IDS)}]", f"type={kind}"]
        for option in draw(st.lists(st.sampled_from(OPTIONS[kind]), max_size=7)):
            lines.append(option.replace("{id}", draw(IDS), 1).replace("{id}", draw(IDS))
                         .replace("{m}", draw(MATCHES), 1).replace("{m}", draw(MATCHES)))
    return "\n".join(lines) + "\n"


# from-trunk dials out with the caller's number, from-pstn stays inside, "default" is missing.
EXTENSIONS = ("[from-trunk]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@t1)\n"
              "[from-pstn]\ninclude => ext-did\n[ext-did]\nexten => 100,1,Goto(ext-local,100,1)\n")


def load(text: str) -> AsteriskConfig:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pjsip.conf").write_text(text)
        (Path(tmp) / "extensions.conf").write_text(EXTENSIONS)
        return load_asterisk(Path(tmp))


NAMES = ["allow", "ALLOW", "aors", "auth", "match", "Match", "endpoint", "transport",
         "contact", "identify_by", "nothing", "type"]


@settings(max_examples=300, deadline=None)
@given(pjsip_conf())
def test_object_accessors_equal_a_scan_of_the_options(text: str) -> None:
    system = load(text)
    for obj in system.pjsip.objects:
        for name in NAMES:
            assert obj.last(name) is ref.last(obj, name)
            assert obj.all(name) == ref.all_lines(obj, name)
            assert obj.items(name) == ref.items(obj, name)
            assert obj.items(name) == ref.items(obj, name)  # cached: still the same
        assert obj.unknown == ref.unknown_options(obj)


@settings(max_examples=300, deadline=None)
@given(pjsip_conf())
def test_lint_fast_paths_equal_the_plain_loops(text: str) -> None:
    system = load(text)
    pjsip = system.pjsip
    assert ip_trunks(pjsip) == ref.ip_trunks(pjsip)
    assert list(overlap_findings(pjsip)) == list(ref.overlap_findings(pjsip))
    assert trunk_findings(pjsip) == ref.trunk_findings(pjsip)
    plan, managed = trunk_plan(system), frozenset({"pjsip.conf"})
    assert trunk_findings(pjsip, plan, managed) == ref.trunk_findings(pjsip, plan, managed)
    ours = [f for f in reference_findings(system) if f.code != "context-missing"]
    assert ours == ref.reference_findings(system)


def test_trunks_sharing_template_lines_get_the_checklist_of_their_own_lines() -> None:
    """trunk_findings() runs the checklist once for trunks whose checklist lines are the
    same objects (a template's); a trunk that overrides one, or inherits in another
    order, still gets its own findings."""
    overrides = ["", "direct_media=yes", "allow=g722", "disallow=all", "identify_by=ip",
                 "rtp_symmetric=no", "force_rport=no", "rewrite_contact=no", "Allow=alaw"]
    sections = ["[tpl](!)\ntype=endpoint\ndisallow=all\nallow=ulaw\ndirect_media=no\n"
                "rtp_symmetric=yes\n"
                "rewrite_contact=yes\nidentify_by=ip\n",
                "[late](!)\nallow=alaw\nidentify_by=username\n",
                "[ident](!)\ntype=identify\n"]
    for n in range(40):
        bases = ["tpl", "late,tpl", "tpl,late"][n % 3]
        sections.append(f"[t{n}]({bases})\n{overrides[n // 3 % len(overrides)]}\n"
                        f"[t{n}-id](ident)\nendpoint=t{n}\nmatch=203.0.113.{n}\n")
    system = load("".join(sections))
    plan = trunk_plan(system)
    ours = trunk_findings(system.pjsip, plan)
    assert ours == ref.trunk_findings(system.pjsip, plan)
    codes = {f.code for f in ours}
    assert {"trunk-direct-media", "trunk-codecs-order", "trunk-identify-by",
            "trunk-rtp-symmetric", "trunk-force-rport"} <= codes
    # t0 is clean; t1 has t0's winning lines but an earlier allow= (from [late])
    assert not [f for f in ours if f.subject == "t0"]
    assert [f.code for f in ours if f.subject == "t1"] == ["trunk-codecs-order"]


def test_reference_options_do_not_accumulate() -> None:
    # The reference lint's shortcut reads only the last line of these options.
    assert not {name for _, name, _, _ in ref.REFERENCES} & ACCUMULATING


def test_overlaps_many_ranges_against_the_plain_loop() -> None:
    """Nested, chained and disjoint ranges of both families, beyond what the random
    configs draw: the sweep's kept and emptied active lists all happen."""
    sections = []
    for n in range(60):
        nets = [f"203.0.{n // 4}.0/{22 + n % 9}", f"198.51.100.{n}",
                f"2001:db8:{n % 7:x}::/{40 + n % 50}", f"10.{n % 3}.0.0/255.{n % 2}.255.0"]
        sections.append(f"[e{n}]\ntype=endpoint\n[i{n}]\ntype=identify\nendpoint=e{n % 45}\n"
                        + "".join(f"match={net}\n" for net in nets[n % 4:] + nets[:n % 4]))
    system = load("".join(sections))
    ours = list(overlap_findings(system.pjsip))
    assert ours == list(ref.overlap_findings(system.pjsip))
    assert len(ours) > 50


def test_a_range_ending_where_the_next_starts_still_overlaps() -> None:
    """At 203.0.113.255 the sweep drops .10 (ended) but keeps the /24 ending exactly there."""
    system = load("".join(
        f"[{e}]\ntype=endpoint\n[i{e}]\ntype=identify\nendpoint={e}\nmatch={net}\n"
        for e, net in (("a", "203.0.113.0/24"), ("b", "203.0.113.10"), ("c", "203.0.113.255"),
                       ("d", "2001:db8::/127"), ("e", "2001:db8::1"))))
    ours = list(overlap_findings(system.pjsip))
    assert ours == list(ref.overlap_findings(system.pjsip))
    assert [f.subject for f in ours] == ["a, b", "a, c", "d, e"]


def test_a_load_frees_itself_without_the_collector(tmp_path: Path) -> None:
    """Missing files (pjsip_wizard.conf, manager.conf here) are cached as errors; a cached
    exception with its traceback made the whole load one reference cycle, which
    gc_paused's freeze then kept forever (70 MB per 10,000-trunk load)."""
    (tmp_path / "pjsip.conf").write_text("[a]\ntype=aor\n#tryinclude missing.conf\n")
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        system = load_asterisk(tmp_path)
        assert config_findings(system) is not None
        assert system.documents.errors  # the missing files are cached
        alive = weakref.ref(system)
        documents = weakref.ref(system.documents)
        del system
        assert alive() is None
        assert documents() is None
    finally:
        if was_enabled:
            gc.enable()
