"""Break the lab the way production breaks, and make the traffic that shows it.

- provider-ip-changed: the carrier moves from 203.0.113.10 to 203.0.113.12; its calls
  now come from an address no identify matches (Asterisk answers 401, stays silent), and
  the old address stops answering qualify.
- rtp-blocked: an nftables rule in the PBX namespace drops the RTP range; a call with
  media is placed and stays up without audio reaching Asterisk.
- callerid-rejected: the carrier answers the PBX's outbound calls with 403 Forbidden unless
  the caller ID (From user) is the number it assigned, 15551230000.
- trunk-down: the carrier stops answering anything, qualify included.
- provider-banned: provider-ip-changed on a PBX guarded by a real fail2ban (the stock
  asterisk jail on the security log, nftables bans): the carrier's calls from .12 get
  401s until fail2ban bans .12, and it keeps calling. The compound failure: fixing the
  identify alone does not bring the calls back while the ban holds.
- packet-loss: the carrier's network drops 8% of the RTP it sends (nft `numgen random`
  in the carrier's namespace: this kernel has no netem) on a call carrying RTP both
  ways (sipp echoes the PBX's milliwatt tone back); jitter is the sender's own timing.
- did-in-header: the carrier puts its pilot number 15550000000 in the Request-URI and the
  DID (15551230001) in P-Called-Party-ID; Asterisk routes on the R-URI and answers 404.
- codec-mismatch: the carrier offers only G.729 (the trunk allows ulaw,alaw): 488.
- private-sdp: the carrier's SDP says c=192.168.1.20 (its LAN address) while its SIP
  comes from 203.0.113.10, as a provider behind NAT without an ALG sends it (no packet
  can go to 192.168.1.20: the lab namespaces have no route beyond 203.0.113.0/24).
- reset: everything back as `lab up` made it, configs included.

The rtp-blocked rule drops the range whatever the conntrack state: with a usual
`ct state established accept` first, symmetric RTP that Asterisk sends first would open
the way back (the conntrack trap in README), so a real "no audio" firewall is one that
drops before that rule, or a NAT in between.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from trunkconsole.errors import OperatorError
from trunkconsole.lab import fail2ban, pbx
from trunkconsole.lab.addresses import CARRIER_ADDRESS
from trunkconsole.lab.ami_probe import AmiProbe
from trunkconsole.lab.carrier import ASSIGNED_CALLER_ID, CallSpec
from trunkconsole.lab.lab import Lab
from trunkconsole.lab.network import VETH
from trunkconsole.lab.system import require_tools, run
from trunkconsole.lab.uac_variants import InviteVariant
from trunkconsole.visible import echo

NEW_CARRIER_ADDRESS = "203.0.113.12"
NFT_TABLE = "trunkconsole_lab_scenario"
RTP_RANGE = (10000, 10099)  # sample-configs/lab/rtp.conf
SCENARIOS = ("provider-ip-changed", "provider-banned", "rtp-blocked", "callerid-rejected",
             "trunk-down", "packet-loss", "did-in-header", "codec-mismatch", "private-sdp",
             "reset")
PILOT = "15550000000"
LOSS_PERCENT = 8
Log = Callable[[str], None]


def _nft(lab: Lab, script: str, netns: str | None = None) -> None:
    require_tools("nft")
    run(["ip", "netns", "exec", netns or lab.pbx_ns, "nft", "-f", "-"],
        what="nft in the lab", input_text=script)


def _unblock_rtp(lab: Lab) -> None:
    for netns in (lab.pbx_ns, lab.carrier_ns):
        listing = run(["ip", "netns", "exec", netns, "nft", "list", "tables"],
                      what="nft list tables", check=False).stdout
        for line in listing.splitlines():
            if line.split()[-1:] == [NFT_TABLE]:  # "table inet NAME" / "table netdev NAME"
                _nft(lab, f"delete {line.strip()}\n", netns)


def provider_ip_changed(lab: Lab, log: Log) -> None:
    lab.set_carrier("answer", NEW_CARRIER_ADDRESS)
    report = lab.call(CallSpec(did="15551230001", source=NEW_CARRIER_ADDRESS, count=3, rate=2))
    # Callers keep trying: one call every 5 s for 10 minutes, as long as nobody fixes it.
    lab.call_in_background(CallSpec(did="15551230001", source=NEW_CARRIER_ADDRESS,
                                    count=120, rate=0.2, duration=1))
    log(f"carrier now at {NEW_CARRIER_ADDRESS}; its calls: {report.summary()}; "
        "it keeps calling every 5 s")


def provider_banned(lab: Lab, log: Log, timeout: float = 60.0) -> None:
    lab.start_fail2ban()
    lab.set_carrier("answer", NEW_CARRIER_ADDRESS)
    # The stock jail bans after maxretry = 10 failures: one InvalidAccountID per call.
    report = lab.call(CallSpec(did="15551230001", source=NEW_CARRIER_ADDRESS, count=12,
                               rate=5, duration=1))
    deadline = time.monotonic() + timeout
    while NEW_CARRIER_ADDRESS not in fail2ban.banned(lab.dir):
        if time.monotonic() > deadline:
            raise OperatorError(f"fail2ban did not ban {NEW_CARRIER_ADDRESS} in time",
                                evidence=f"its calls: {report.summary()}")
        time.sleep(0.5)
    lab.call_in_background(CallSpec(did="15551230001", source=NEW_CARRIER_ADDRESS,
                                    count=120, rate=0.2, duration=1))
    log(f"carrier now at {NEW_CARRIER_ADDRESS}; its calls: {report.summary()}; fail2ban "
        f"(jail {fail2ban.JAIL}, nftables) banned it; it keeps calling every 5 s")


def rtp_blocked(lab: Lab, log: Log, hold: float = 30.0) -> CallSpec:
    low, high = RTP_RANGE
    _unblock_rtp(lab)
    _nft(lab, f"""table inet {NFT_TABLE} {{
  chain input {{
    type filter hook input priority -10; policy accept;
    udp dport {low}-{high} counter drop comment "lab scenario rtp-blocked"
  }}
}}
""")
    spec = CallSpec(did="15551230002", source=lab.carrier_address(), duration=hold, media=True)
    lab.call_in_background(spec)
    log(f"RTP {low}-{high}/udp dropped in {lab.pbx_ns} (table inet {NFT_TABLE}); "
        f"a {hold:.0f} s call with media is up on DID {spec.did}")
    return spec


def callerid_rejected(lab: Lab, log: Log) -> None:
    lab.set_carrier("callerid")
    lab.originate("15550001111")
    lab.start_dialer("15550001111", every=5, seconds=600)
    log("the carrier now rejects outbound calls with 403 Forbidden unless the caller ID is "
        f"{ASSIGNED_CALLER_ID}; the PBX calls out every 5 s with 15551239999")


def packet_loss(lab: Lab, log: Log, percent: int = LOSS_PERCENT,
                hold: float = 120.0) -> CallSpec:
    """The carrier's outgoing RTP (sipp's media ports, 6000 and up) loses `percent`%.

    The drop sits on the carrier's veth egress (netdev family, Linux 5.16+), not in its
    output hook: an output-hook drop makes sendto() fail with EPERM and sipp's RTP echo
    stops, whereas a device-queue drop is silent to the sender (udp_send_skb swallows
    ENOBUFS), like loss on a real path.
    """
    _nft(lab, f"""table netdev {NFT_TABLE} {{
  chain egress {{
    type filter hook egress device "{VETH}" priority 0; policy accept;
    udp sport 6000-6999 numgen random mod 100 < {percent} counter drop comment "lab packet-loss"
  }}
}}
""", lab.carrier_ns)
    spec = CallSpec(did="15551230002", source=lab.carrier_address(), duration=hold, echo=True)
    lab.call_in_background(spec)
    log(f"the carrier's RTP loses {percent}% on the way (table netdev {NFT_TABLE} on its "
        f"{VETH} in {lab.carrier_ns}); a {hold:.0f} s call with RTP both ways is up on DID "
        f"{spec.did}")
    return spec


def did_in_header(lab: Lab, log: Log) -> None:
    variant = InviteVariant(called_party="15551230001")
    report = lab.call(CallSpec(did=PILOT, variant=variant, duration=1))
    lab.call_in_background(CallSpec(did=PILOT, variant=variant, count=120, rate=0.2,
                                    duration=1))
    log(f"the carrier calls pilot {PILOT} with the DID 15551230001 in P-Called-Party-ID: "
        f"{report.summary()}; it keeps calling every 5 s")


def codec_mismatch(lab: Lab, log: Log) -> None:
    variant = InviteVariant(offer=("18",))  # G.729 only
    report = lab.call(CallSpec(did="15551230001", variant=variant, duration=1))
    lab.call_in_background(CallSpec(did="15551230001", variant=variant, count=120, rate=0.2,
                                    duration=1))
    log(f"the carrier offers only G.729 (the trunk allows ulaw,alaw): {report.summary()}; "
        "it keeps calling every 5 s")


def private_sdp(lab: Lab, log: Log) -> None:
    variant = InviteVariant(sdp_address="192.168.1.20")
    report = lab.call(CallSpec(did="15551230001", variant=variant, duration=1))
    lab.call_in_background(CallSpec(did="15551230001", variant=variant, count=120, rate=0.2,
                                    duration=1))
    log(f"the carrier's SDP advertises 192.168.1.20 (private): {report.summary()}; "
        "it keeps calling every 5 s")


def trunk_down(lab: Lab, log: Log) -> None:
    lab.set_carrier("stop")
    log("the carrier answers nothing now: qualify turns Unreachable within about 12 s")


def reset(lab: Lab, log: Log) -> None:
    lab.stop_background_calls()
    lab.stop_fail2ban()
    with lab.ami() as ami:
        ami.command("channel request hangup all")
    _unblock_rtp(lab)
    lab.set_carrier("answer", CARRIER_ADDRESS)
    secret = lab.secret()
    pbx.render_configs(lab.dir, secret=secret)
    with lab.ami() as ami:
        for module in ("res_pjsip.so", "pbx_config.so"):
            ami.action({"Action": "Reload", "Module": module})
        _wait_reachable(ami)
    log("lab reset: carrier answering at 203.0.113.10, no scenario rule, configs as shipped")


def _wait_reachable(ami: AmiProbe, timeout: float = 10.0) -> None:
    """Qualify now: after trunk-down the contact stays Unreachable until the next OPTIONS,
    and Asterisk will not dial an endpoint without an available contact."""
    ami.action({"Action": "PJSIPQualify", "Endpoint": "carrier"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(" Avail " in line for line in ami.command("pjsip show contacts")):
            return
        time.sleep(0.2)
    raise OperatorError("the lab carrier did not answer qualify after the reset")


def apply(lab: Lab, name: str, log: Log = echo) -> None:
    """Run one scenario by name."""
    actions: dict[str, Callable[[Lab, Log], object]] = {
        "provider-ip-changed": provider_ip_changed, "provider-banned": provider_banned,
        "rtp-blocked": rtp_blocked,
        "callerid-rejected": callerid_rejected, "trunk-down": trunk_down, "reset": reset,
        "packet-loss": packet_loss, "did-in-header": did_in_header,
        "codec-mismatch": codec_mismatch, "private-sdp": private_sdp,
    }
    if name not in actions:
        raise OperatorError(f"unknown scenario {name!r}", fix="one of " + ", ".join(SCENARIOS))
    if name != "reset":
        reset(lab, lambda _m: None)
    actions[name](lab, log)
    lab.set_scenario("" if name == "reset" else name)
