"""The inbound troubleshooting workflow, as checked steps, each saying what it saw.

1. SIP logger on (PJSIP history over AMI; see changes/sip_logger.py).
2. Wait for an inbound INVITE: from where, to which number, and Asterisk's answer.
3. Which identify matched the source, or none (then Asterisk answered 401).
4. RTP: the call's counters from `pjsip show channelstats`, sampled twice.
5. A capture command to copy, for the provider's ticket.
The next step follows from what the previous one saw: no INVITE stops at step 2 with the
firewall's verdict; an unmatched source proposes the trunk; a 404 names the missing route.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from trunkconsole.ami.action import AmiActions
from trunkconsole.calls.ladder import did_numbers, group_calls
from trunkconsole.calls.nat import analyse
from trunkconsole.calls.negotiation import explain_488
from trunkconsole.calls.sdp import parse_sdp
from trunkconsole.calls.sip import parse_sip
from trunkconsole.calls.sip_history import SipMessage
from trunkconsole.changes.logger_on import switch_logger_on
from trunkconsole.changes.sip_logger import SipLogger, state_file_for
from trunkconsole.diagnose.propose import propose_trunks
from trunkconsole.diagnose.rtpstats import parse_channelstats
from trunkconsole.errors import OperatorError
from trunkconsole.findings import AddProviderAddress, Proposal, RouteDid, SetOption
from trunkconsole.net.bans import BanIndex, banned_addresses
from trunkconsole.net.engine import Engine
from trunkconsole.net.packet import Probe
from trunkconsole.pjsip.system import AsteriskConfig
from trunkconsole.settings import AmiTarget

POLL = 0.5


class StepState(Enum):
    RUNNING = "running"
    OK = "ok"
    PROBLEM = "problem"
    SKIPPED = "skipped"


@dataclass
class Step:
    title: str
    state: StepState = StepState.RUNNING
    saw: list[str] = field(default_factory=list)
    fix: str = ""
    proposal: Proposal | None = None  # the guided change, prefilled


@dataclass
class WorkflowInput:
    trunk: str
    config: AsteriskConfig | None
    engine: Engine | None  # compiled firewall, when readable
    target: AmiTarget  # the AMI the logger's guard switches the logger off through
    rtp_range: tuple[int, int] = (10000, 20000)
    wait: float = 60.0
    logger_state_file: Path | None = None
    bans: BanIndex | None = None  # fail2ban / CrowdSec / FreePBX bans, read with the rules


Report = Callable[[Step], None]


def _final_response(messages: list[SipMessage], call_id: str) -> SipMessage | None:
    finals = [m for m in messages if not m.received and m.call_id == call_id
              and m.first_line.startswith("SIP/2.0 ") and not m.first_line.startswith(
                  "SIP/2.0 1")]
    return finals[0] if finals else None


def _banned_lines(spec: WorkflowInput, hosts: list[str], step: Step) -> None:
    """A ban of the trunk's addresses, or of a banned address near them (its new IP), is
    why no INVITE arrives: name it and make its fix the step's fix."""
    if spec.bans is None:
        return
    suspects = [h for h in hosts if spec.bans.lookup(h)]
    if spec.config is not None:
        suspects += [a for a in banned_addresses(spec.bans) if a not in suspects and any(
            c.trunk == spec.trunk and c.score >= 3 for c in propose_trunks(spec.config, a))]
    fixes = []
    for address in suspects:
        for ban in spec.bans.lookup(address):
            step.saw.append(f"{address} is banned by {ban.describe()}")
            fixes.append(ban.fix())
        if address not in hosts:
            fixes.insert(0, f"trunkconsole identify add {spec.trunk} {address}")
    if fixes:
        step.fix = "; ".join(dict.fromkeys(fixes))


def _matching_identify(config: AsteriskConfig | None, address: str) -> tuple[str, str] | None:
    if config is None:
        return None
    ip = ipaddress.ip_address(address)
    for identify in config.pjsip.of_type("identify"):
        for match, option in config.pjsip.matches(identify):
            if match.address is not None and match.version == ip.version and \
                    match.contains(ip):
                return identify.value("endpoint"), f"identify {identify.id} " \
                    f"(match={option.value}, {option.location()})"
    return None


async def run_workflow(ami: AmiActions, spec: WorkflowInput, report: Report,
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> list[Step]:
    """Run the steps; report() is called on every change of a step."""
    steps: list[Step] = []

    def begin(title: str) -> Step:
        step = Step(title)
        steps.append(step)
        report(step)
        return step

    def end(step: Step, state: StepState) -> None:
        step.state = state
        report(step)

    # 1. logger
    step = begin(f"SIP logger on for trunk {spec.trunk}")
    # Our runtime directory (0700), never a guessable name in /tmp: we run as root.
    state_file = spec.logger_state_file or state_file_for(f"workflow-{spec.trunk}")
    try:
        # The same guarded switch as `logger on`: off by itself if we die mid-walk.
        logger, state = await switch_logger_on(
            ami, spec.target, trunks=[spec.trunk], seconds=max(spec.wait + 30, 60),
            state_file=state_file, follow_pid=os.getpid())
    except OperatorError as exc:
        step.saw.append(exc.what)
        end(step, StepState.PROBLEM)
        return steps
    hosts = state.hosts
    # The history keeps every source: an INVITE from an address nobody knew yet counts.
    step.saw.append(f"trunk {spec.trunk} is {', '.join(hosts)}; watching INVITEs from any "
                    "address")
    end(step, StepState.OK)
    try:
        await _after_logger(ami, spec, logger, hosts, begin, end, sleep)
    finally:
        await logger.off()
    return steps


async def _after_logger(ami: AmiActions, spec: WorkflowInput, logger: SipLogger,
                        hosts: list[str], begin: Callable[[str], Step],
                        end: Callable[[Step, StepState], None],
                        sleep: Callable[[float], Awaitable[None]]) -> None:
    # 2. INVITE
    step = begin(f"waiting up to {spec.wait:.0f} s for an inbound INVITE: call a DID now")
    messages: list[SipMessage] = []
    invite: SipMessage | None = None
    deadline = time.monotonic() + spec.wait
    while invite is None and time.monotonic() < deadline:
        messages += await logger.poll(any_source=True)
        invite = next((m for m in messages if m.received and m.is_request
                       and m.method == "INVITE"), None)
        if invite is None:
            await sleep(POLL)
    if invite is None:
        step.saw.append(f"no INVITE reached Asterisk in {spec.wait:.0f} s")
        for host in hosts:
            verdict = _sip_verdict(spec.engine, host)
            if verdict:
                step.saw.append(f"firewall, SIP from {host}: {verdict}")
        step.fix = ("the call never arrived: check the provider's side (which address it "
                    "sends to), DNS for your domain, and the firewall verdicts above")
        _banned_lines(spec, hosts, step)
        end(step, StepState.PROBLEM)
        return
    request_uri = invite.first_line.split(" ")[1] if " " in invite.first_line else "?"
    step.saw.append(f"INVITE from {invite.address} to {request_uri} (Call-ID {invite.call_id})")
    numbers = did_numbers(parse_sip(invite.text))
    if numbers:
        step.saw.append("number dialled: " + ", ".join(f"{h} {n}" for h, n in numbers))
    for _ in range(20):  # the final answer follows within a second or two
        final = _final_response(messages, invite.call_id)
        if final is not None:
            break
        await sleep(POLL)
        messages += await logger.poll(any_source=True)
    final = _final_response(messages, invite.call_id)
    if final is not None:
        step.saw.append(f"Asterisk answered {final.first_line.removeprefix('SIP/2.0 ')}")
    for flow in group_calls(m for m in messages if m.call_id == invite.call_id):
        step.saw += [f"NAT: {n.text} (fix: {n.fix})" for n in analyse(flow)]
    end(step, StepState.OK)

    # 3. identify
    step = begin("which identify matches the source")
    matched = _matching_identify(spec.config, invite.host)
    code = final.first_line.split(" ")[1] if final is not None else ""
    if matched is None:
        step.saw.append(f"no identify matches {invite.host}"
                        + (": Asterisk answered 401, the provider sees a failed call"
                           if code == "401" else ""))
        if spec.config is not None:
            best = propose_trunks(spec.config, invite.host)
            if best:
                step.saw.append(f"most likely trunk {best[0].trunk}: "
                                + "; ".join(best[0].reasons))
                step.fix = f"trunkconsole identify add {best[0].trunk} {invite.host}"
                step.proposal = AddProviderAddress(trunk=best[0].trunk, address=invite.host)
        end(step, StepState.PROBLEM)
        return
    trunk, how = matched
    step.saw.append(f"{invite.host} is trunk {trunk}: {how}")
    if code == "404":
        step.saw.append(f"but the number is not routed: {request_uri} is not in the "
                        f"dialplan context of {trunk} (Asterisk answered 404)")
        step.fix = f"add the DID to the context of endpoint {trunk} in extensions.conf"
        await _did_elsewhere(ami, spec, trunk, invite, step)
        end(step, StepState.PROBLEM)
        return
    if code == "488":
        step.saw.append("Asterisk refused the offer (488 Not Acceptable Here)")
        _explain_488(spec, trunk, invite, step)
        end(step, StepState.PROBLEM)
        return
    end(step, StepState.OK)

    # 4. RTP
    step = begin("RTP from the provider")
    if code != "200":
        step.saw.append("the call was not answered: no media to check")
        end(step, StepState.SKIPPED)
    else:
        await _rtp_step(ami, spec, trunk, invite, step, sleep)
        end(step, StepState.PROBLEM if step.fix else StepState.OK)

    # 5. capture
    step = begin("capture for the provider's ticket")
    low, high = spec.rtp_range
    step.saw.append(f"tcpdump -ni any -w /tmp/{trunk}.pcap host {invite.host} and "
                    f"(port 5060 or portrange {low}-{high})")
    step.saw.append("or in Asterisk: pjsip set logger pcap /tmp/sip.pcap (SIP only)")
    end(step, StepState.OK)


async def _did_elsewhere(ami: AmiActions, spec: WorkflowInput, trunk: str,
                         invite: SipMessage, step: Step) -> None:
    """DID not routed: another header carries a number the trunk's context does handle
    (`dialplan show N@CONTEXT` answers for the live dialplan, includes and patterns too)."""
    numbers = did_numbers(parse_sip(invite.text))
    pilot = next((n for h, n in numbers if h == "Request-URI"), "")
    context = _context_of(spec.config, trunk)
    if not pilot or not context:
        return
    for header, number in numbers:
        if header in ("Request-URI",) or number == pilot:
            continue
        lines = await ami.command(f"dialplan show {number}@{context}")
        if any("There is no existence" in line for line in lines) or not any(
                "=>" in line for line in lines):
            continue
        step.saw.append(f"DID not routed: {header} carries {number}, which context "
                        f"{context} handles; the Request-URI has {pilot} (a pilot number)")
        step.fix = (f"route {pilot} on {header}: trunkconsole did route {trunk} --pilot "
                    f"{pilot} --header {header} (a reviewed diff to extensions.conf, "
                    "dialplan reload, verified)")
        step.proposal = RouteDid(trunk=trunk, pilot=pilot, header=header)
        return


def _explain_488(spec: WorkflowInput, trunk: str, invite: SipMessage, step: Step) -> None:
    """The offer beside the endpoint's allow and media_encryption, and the option to set."""
    endpoint = spec.config.pjsip.get("endpoint", trunk) if spec.config is not None else None
    if endpoint is None:
        step.fix = f"allow a codec the provider offers on endpoint {trunk}"
        return
    why = explain_488(parse_sdp(parse_sip(invite.text).body),
                      [c for c in endpoint.names("allow") if c.lower() != "all"] or
                      endpoint.names("allow"),
                      endpoint.value("media_encryption", "no"),
                      endpoint.value("media_encryption_optimistic", "no").lower()
                      in ("yes", "true", "1", "on"))
    step.saw.extend(why.lines)
    if why.option:
        step.fix = (f"trunkconsole config set endpoint {trunk} {why.option} {why.value} "
                    "(a reviewed diff, reload, verified)")
        step.proposal = SetOption(kind="endpoint", name=trunk, option=why.option,
                                  value=why.value)
    else:
        step.fix = f"allow a codec the provider offers on endpoint {trunk}"


def _context_of(config: AsteriskConfig | None, trunk: str) -> str:
    endpoint = config.pjsip.get("endpoint", trunk) if config is not None else None
    return endpoint.value("context", "default") if endpoint is not None else ""


async def _rtp_step(ami: AmiActions, spec: WorkflowInput, trunk: str, invite: SipMessage,
                    step: Step, sleep: Callable[[float], Awaitable[None]]) -> None:
    samples = []
    for _ in range(2):
        stats = parse_channelstats(await ami.command("pjsip show channelstats"))
        # The call just answered is the youngest channel of the trunk.
        mine = sorted((s for s in stats.values() if s.endpoint == trunk),
                      key=lambda s: s.uptime)
        samples.append(mine[0] if mine else None)
        await sleep(2)
    first, last = samples
    if last is None or first is None:
        step.saw.append("the call ended before its RTP could be counted")
        return
    step.saw.append(f"{last.channel}: {last.rx_packets} RTP packets received, "
                    f"{last.tx_packets} sent ({last.codec})")
    if last.rx_packets > first.rx_packets:
        step.saw.append("audio from the provider is arriving")
        return
    low, high = spec.rtp_range
    verdict = _rtp_verdict(spec.engine, invite.host, low, high)
    if verdict:
        step.saw.append(f"firewall, RTP from {invite.host}: {verdict}")
    step.fix = ("no RTP arrives: open UDP " f"{low}-{high} from the provider in the firewall, "
                "and check that the SDP advertises your public address "
                "(external_media_address)")


def _sip_verdict(engine: Engine | None, host: str) -> str:
    if engine is None:
        return ""
    address = host.split("/")[0]
    return engine.evaluate(Probe(address, 5060, None, proto="udp")).summary()


def _rtp_verdict(engine: Engine | None, host: str, low: int, high: int) -> str:
    if engine is None:
        return ""
    return engine.evaluate_range(Probe(host, low, high, proto="udp")).summary()
