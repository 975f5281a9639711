"""Trunk unreachable (qualify), outbound registration failing, codec mismatch (488)."""

from __future__ import annotations

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.text import ago, plural
from trunkconsole.findings import Evidence as Line
from trunkconsole.findings import Finding, Severity
from trunkconsole.logs.events import LogEvent
from trunkconsole.model.records import Registration

BEARER_UNAVAILABLE = 58  # 488/606 map to Cause 58 (res_pjsip.c)


def trunk_unreachable(ev: Evidence) -> list[Finding]:
    if ev.state is None:
        return []
    findings = []
    for endpoint in ev.state.trunks():
        contacts = ev.state.contacts_of(endpoint)
        down = [c for c in contacts if c.status == "Unreachable"]
        if not down:
            continue
        lines = [Line(f"contact {c.uri} is Unreachable: no answer to qualify OPTIONS")
                 for c in down]
        partial = len(down) < len(contacts)
        findings.append(Finding(
            code="trunk-unreachable", short="trunk unreachable",
            severity=Severity.WARNING if partial else Severity.CRITICAL, domain="live",
            title=f"trunk {endpoint.name}: "
                  + ("some contacts unreachable" if partial else "the provider does not answer"),
            subject=endpoint.name, evidence=tuple(lines),
            fix=(f"is the provider up, and reachable from here? `trunkconsole logger on "
                 f"--trunk {endpoint.name} --method OPTIONS` shows whether OPTIONS leave and "
                 "anything comes back; a provider that moved shows up as an unknown sender"),
            details={"trunk": endpoint.name, "contacts": [c.uri for c in down]}))
    return findings


def registration_failing(ev: Evidence) -> list[Finding]:
    if ev.state is None:
        return []
    findings = []
    for registration in ev.state.registrations.values():
        if registration.status == "Registered":
            continue
        answer = _last_answer(ev, registration)
        rejected = registration.status == "Rejected"
        evidence = [Line(f"{registration.client_uri} at {registration.server_uri}: "
                         f"{registration.status}"
                         + (f" since {ago(ev.now, registration.changed_at)}"
                            if registration.changed_at else ""))]
        if answer is not None:
            evidence.append(Line(answer.text, file=answer.file))
        findings.append(Finding(
            code="registration-failing", short="registration failing",
            severity=Severity.CRITICAL if rejected else Severity.WARNING, domain="live",
            title=f"outbound registration {registration.name} is {registration.status}",
            subject=registration.endpoint or registration.name,
            evidence=tuple(evidence),
            fix=_registration_fix(registration.endpoint or registration.name, rejected,
                                  answer),
            details={"registration": registration.name,
                     "code": answer.fields.get("code", "") if answer else None}))
    return findings


def _last_answer(ev: Evidence, registration: Registration) -> LogEvent | None:
    """The log's latest word on this registration (the only place its SIP code is)."""
    if ev.log is None:
        return None
    found = [e for e in ev.log.of_kind("registration")
             if e.fields.get("client") == registration.client_uri
             and e.fields["server"] in ("", registration.server_uri)]
    return found[-1] if found else None


def _registration_fix(trunk: str, rejected: bool, answer: LogEvent | None) -> str:
    trace = (f"`trunkconsole logger on --trunk {trunk} --method REGISTER` shows each "
             "attempt and its answer")
    code = answer.fields.get("code", "") if answer is not None else ""
    if answer is not None and code in ("", "408"):
        return ("no answer from the registrar: check the server_uri's DNS name and port, "
                f"the route and the firewall toward it; {trace}")
    if code in ("401", "407"):
        return (f"the registrar refused the credentials ({code}): check username, password "
                f"and realm of the outbound_auth; {trace}")
    if code == "403":
        return ("the registrar answered 403 Forbidden: the account, client_uri or our "
                f"address is not allowed; ask the provider; {trace}")
    if code:
        return f"the registrar answered {code}; {trace}"
    if rejected:
        return ("Asterisk's Rejected covers a refusal (401/403) and no answer at all "
                "(timeout): the SIP code is only in the log (WARNING level) or the trace; "
                + trace)
    return "no answer from the registrar yet: check DNS and the route; " + trace


def codec_mismatch(ev: Evidence) -> list[Finding]:
    if ev.state is None:
        return []
    findings = []
    for trunk in sorted({h.endpoint for h in ev.state.hangups}):
        bad = [h for h in ev.state.hangups_of(trunk)
               if h.tech_cause in (488, 606) or (h.tech_cause is None
                                                 and h.cause == BEARER_UNAVAILABLE)]
        if not bad:
            continue
        allow = ""
        if ev.config is not None and (endpoint := ev.config.pjsip.get("endpoint", trunk)):
            allow = ",".join(endpoint.names("allow"))
        findings.append(Finding(
            code="codec-mismatch", short="no common codec", severity=Severity.CRITICAL,
            domain="live",
            title=f"calls on trunk {trunk} fail with 488 Not Acceptable Here: no common codec",
            subject=trunk,
            evidence=(Line(f"{plural(len(bad), 'call')} ended 488/Cause 58, the last "
                           f"{ago(ev.now, bad[-1].at)}"),
                      Line(f"endpoint {trunk} allows {allow or 'nothing explicit'}")),
            fix=f"allow a codec the provider offers on endpoint {trunk} (disallow=all, then "
                "allow=alaw,ulaw is what most carriers take)",
            details={"trunk": trunk}))
    return findings
