"""Outbound calls rejected by the provider: 403 (Cause 21), usually the caller ID.

Asterisk maps 401/403/407/603 to Cause 21 (res_pjsip.c ast_sip_hangup_sip2cause); since
20.17/22.7 the Hangup event also carries TechCause with the SIP code itself. DialEnd says
NOANSWER for it, so it is no use here (reference §2.4).
"""

from __future__ import annotations

from trunkconsole.diagnose.evidence import Evidence
from trunkconsole.diagnose.text import ago, plural
from trunkconsole.findings import Evidence as Line
from trunkconsole.findings import Finding, Severity

REJECTED = 21


def callerid_rejected(ev: Evidence) -> list[Finding]:
    if ev.state is None:
        return []
    findings = []
    for trunk in sorted({h.endpoint for h in ev.state.hangups}):
        rejected = [h for h in ev.state.hangups_of(trunk)
                    if h.tech_cause == 403 or (h.tech_cause is None and h.cause == REJECTED)]
        if not rejected:
            continue
        last = rejected[-1]
        code = "403 Forbidden" if last.tech_cause == 403 else "Cause 21 (401/403/407/603)"
        lines = [Line(f"{plural(len(rejected), 'call')} on {trunk} ended {code}, the last "
                      f"{ago(ev.now, last.at)} ({last.channel}, Cause {last.cause} "
                      f"{last.cause_txt})"),
                 Line(f"caller ID sent: {last.caller_num or 'none'}"
                      + (f" to {last.did}" if last.did else ""))]
        lines += _caller_id_config(ev, trunk, last.caller_num)
        findings.append(Finding(
            code="callerid-rejected", short="caller ID rejected", severity=Severity.CRITICAL,
            domain="live",
            title=f"the provider of trunk {trunk} rejects outbound calls ({code}): most "
                  "often the caller ID is not one it accepts",
            subject=trunk, evidence=tuple(lines),
            fix=(f"send a caller ID the provider has assigned to you: set CALLERID(num) in "
                 f"the outbound route, or put it in From for every call with `trunkconsole "
                 f"config set endpoint {trunk} from_user NUMBER`; `trunkconsole logger on "
                 f"--trunk {trunk} --method INVITE` shows the From and P-Asserted-Identity "
                 "sent"),
            details={"trunk": trunk, "caller_id": last.caller_num, "calls": len(rejected)}))
    return findings


def _caller_id_config(ev: Evidence, trunk: str, sent: str) -> list[Line]:
    if ev.config is None:
        return []
    endpoint = ev.config.pjsip.get("endpoint", trunk)
    if endpoint is None:
        return []
    lines = []
    for option in ("from_user", "from_domain", "callerid", "send_pai", "send_rpid"):
        value = endpoint.last(option)
        if value is not None:
            lines.append(Line(f"{option}={value.value} on endpoint {trunk}", value.file,
                              value.line))
    if endpoint.last("from_user") is None:
        lines.append(Line(f"endpoint {trunk} has no from_user: the From header carries the "
                          f"caller ID ({sent or 'none'})", endpoint.file, endpoint.line))
    return lines
