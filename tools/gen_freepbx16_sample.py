"""Write sample-configs/freepbx16: a second, different FreePBX layout (FreePBX 16, PHP 7.4).

Built from FreePBX's public source like tools/gen_freepbx_sample.py (read, not copied):
core release/16.0 functions.inc/drivers/PJSip.class.php genConfig()/generateEndpoint(),
framework BMO/WriteConfig.class.php writeFile(), core etc/sip.conf, framework
amp_conf/astetc/manager.conf, sipsettings genConfig() (rtp_additional.conf, `key = value`
for an array value such as ice_blacklist), logfiles genConfig() (raw strings after the BMO
banner). What differs from the FreePBX 17 sample, on purpose:

- one registration trunk (outbound auth, line=yes) and one IP trunk with a two-address
  Match (Permit); 40 extensions, two with their own `NNNN-identify` (an extension's match);
- two transports (udp and tcp on 5060), `local_net` written once per value;
- a module hook line in [global] (addGlobal) and in an endpoint (addEndpoint);
- chan_sip's files present but unused (Asterisk 22 has no chan_sip): sip.conf, sip_*.conf;
- custom files in use, as an admin writes them: a whole peer in pjsip_custom.conf, a second
  context= for the IP trunk and an extra match in the *_custom_post files, dialplan in
  extensions_custom.conf, a rtp_custom.conf addition, AMI users in manager_additional.conf;
- pjsip_notify.conf (core writes it when sip_notify_additional.conf and _custom exist).

Run: python tools/gen_freepbx16_sample.py  (rewrites sample-configs/freepbx16/).
"""

from __future__ import annotations

from pathlib import Path

from gen_freepbx_sample import BMO_HEADER, LEGACY_HEADER, Item, bmo

OUT = Path(__file__).resolve().parent.parent / "sample-configs" / "freepbx16"

KINDS = ("transports", "endpoint", "aor", "auth", "registration", "identify")
EXTENSIONS = [str(n) for n in range(2001, 2041)]


def trunk_endpoint(name: str, extra: dict[str, str]) -> dict[str, str]:
    """A trunk's endpoint in genConfig()'s order for FreePBX 16."""
    base = {"type": "endpoint", "transport": "0.0.0.0-udp", "context": "from-pstn",
            "disallow": "all", "allow": "ulaw,alaw,g722", "aors": name,
            "send_connected_line": "no", "rtp_keepalive": "0", "language": "en"}
    base.update(extra)
    base.update({"user_eq_phone": "no", "t38_udptl": "no", "t38_udptl_ec": "none",
                 "fax_detect": "no", "trust_id_inbound": "no", "t38_udptl_nat": "no",
                 "send_pai": "yes", "direct_media": "no", "rewrite_contact": "yes",
                 "rtp_symmetric": "yes", "dtmf_mode": "auto"})
    return base


def extension(number: str) -> tuple[list[str], list[str], list[str]]:
    """generateEndpoint() for one chan_pjsip extension (unkeyed `key=value` items)."""
    endpoint = [
        "type=endpoint", f"aors={number}", f"auth={number}-auth", "tos_audio=ef",
        "tos_video=af41", "cos_audio=5", "cos_video=4", "allow=ulaw,alaw,gsm,g726,g722,h264",
        "context=from-internal", f"callerid=Room {number} <{number}>", "dtmf_mode=rfc4733",
        "direct_media=no", f"mailboxes={number}@device", "aggregate_mwi=yes",
        "use_avpf=no", "rtcp_mux=no", "max_audio_streams=1", "max_video_streams=1",
        "bundle=no", "ice_support=no", "media_use_received_transport=no",
        "trust_id_inbound=yes", "user_eq_phone=no", "send_connected_line=yes",
        "media_encryption=no", "timers=yes", "timers_min_se=90",
        "media_encryption_optimistic=no", "refer_blind_progress=yes", "rtp_timeout=0",
        "rtp_timeout_hold=0", "rtp_keepalive=0", "send_pai=yes", "rtp_symmetric=yes",
        "rewrite_contact=yes", "force_rport=yes", "language=en", "one_touch_recording=on",
        "record_on_feature=apps", "record_off_feature=apps", "transport=0.0.0.0-udp",
    ]
    auth = ["type=auth", "auth_type=userpass", f"password=pw{number}Xq7r", f"username={number}"]
    aor = ["type=aor", f"mailboxes={number}@device", "max_contacts=2", "remove_existing=yes",
           "maximum_expiration=7200", "minimum_expiration=60", "qualify_frequency=60"]
    return endpoint, auth, aor


def pjsip_files() -> dict[str, str]:
    endpoints: dict[str, Item] = {}
    aors: dict[str, Item] = {}
    auths: dict[str, Item] = {}
    identifies: dict[str, Item] = {}
    endpoints["carrier-ip"] = trunk_endpoint("carrier-ip", {"from_domain": "203.0.113.1",
                                                            "identify_by": "ip"})
    endpoints["sipgate-reg"] = trunk_endpoint("sipgate-reg", {
        "outbound_auth": "sipgate-reg", "from_domain": "192.0.2.60", "from_user": "4930123",
        "contact_user": "4930123", "identify_by": "ip"})
    aors["carrier-ip"] = {"type": "aor", "qualify_frequency": "60",
                          "contact": "sip:203.0.113.10:5060"}
    aors["sipgate-reg"] = {"type": "aor", "qualify_frequency": "60",
                           "contact": "sip:4930123@192.0.2.60:5060", "max_contacts": "1"}
    auths["sipgate-reg"] = {"type": "auth", "auth_type": "userpass",
                            "password": "Reg-Secret-4930", "username": "4930123"}
    identifies["carrier-ip"] = {"type": "identify", "endpoint": "carrier-ip",
                                "match": "203.0.113.10,203.0.113.11"}
    identifies["sipgate-reg"] = {"type": "identify", "endpoint": "sipgate-reg",
                                 "match": "192.0.2.60"}
    for number in EXTENSIONS:
        endpoint, auth, aor = extension(number)
        if number == "2001":
            endpoint.append("accountcode=sales")  # an addEndpoint() hook line
        endpoints[number] = endpoint
        auths[f"{number}-auth"] = auth
        aors[number] = aor
    # Extensions with Match (Permit) set get their own identify, named NUMBER-identify.
    for number, match in (("2039", "192.0.2.39"), ("2040", "192.0.2.40/32")):
        identifies[f"{number}-identify"] = [
            "type=identify", f"endpoint={number}", f"match={match}"]
    registrations: dict[str, Item] = {
        "sipgate-reg": {"type": "registration", "transport": "0.0.0.0-udp",
                        "outbound_auth": "sipgate-reg", "retry_interval": "60",
                        "fatal_retry_interval": "0", "forbidden_retry_interval": "10",
                        "max_retries": "10000", "expiration": "3600", "line": "yes",
                        "endpoint": "sipgate-reg", "auth_rejection_permanent": "off",
                        "contact_user": "4930123", "server_uri": "sip:192.0.2.60:5060",
                        "client_uri": "sip:4930123@192.0.2.60:5060"},
    }
    transports: dict[str, Item] = {
        "0.0.0.0-udp": ["type=transport", "protocol=udp", "bind=0.0.0.0:5060",
                        "external_media_address=198.51.100.5",
                        "external_signaling_address=198.51.100.5", "allow_reload=no",
                        "tos=cs3", "cos=3", "local_net=192.168.0.0/16",
                        "local_net=10.0.0.0/8"],
        "0.0.0.0-tcp": ["type=transport", "protocol=tcp", "bind=0.0.0.0:5060",
                        "external_media_address=198.51.100.5",
                        "external_signaling_address=198.51.100.5", "allow_reload=no",
                        "tos=cs3", "cos=3", "local_net=192.168.0.0/16",
                        "local_net=10.0.0.0/8"],
    }
    includes = "".join(f"#include {n}\n" for n in (
        ["pjsip_custom.conf"] + [f"pjsip.{k}{s}.conf" for k in KINDS
                                 for s in ("", "_custom_post")]))
    files = {
        "pjsip.conf": bmo(includes + "\n", {"global": [
            "type=global", "user_agent=FPBX-16.0.40.7(18.20.2)", "use_callerid_contact=no",
            "debug=no", "keep_alive_interval=20",
            "endpoint_identifier_order=ip,username,anonymous",  # an addGlobal() hook line
            "taskprocessor_overload_trigger=pjsip_only", "#include pjsip_custom_post.conf"]}),
    }
    parts = {"transports": transports, "endpoint": endpoints, "aor": aors, "auth": auths,
             "registration": registrations, "identify": identifies}
    for kind in KINDS:
        files[f"pjsip.{kind}.conf"] = bmo(f"#include pjsip.{kind}_custom.conf\n", parts[kind])
        files[f"pjsip.{kind}_custom.conf"] = ""
        files[f"pjsip.{kind}_custom_post.conf"] = ""
    # What an admin keeps in the custom files (FreePBX never writes them).
    files["pjsip_custom.conf"] = """\
; An old PBX next door, peered by address: kept here by hand, not in FreePBX's GUI.
[legacy-pbx]
type=aor
contact=sip:198.51.100.77:5060
qualify_frequency=30

[legacy-pbx]
type=endpoint
context=from-internal
disallow=all
allow=ulaw
aors=legacy-pbx
direct_media=no
rtp_symmetric=yes
rewrite_contact=yes
identify_by=ip

[legacy-pbx]
type=identify
endpoint=legacy-pbx
match=198.51.100.77
"""
    files["pjsip_custom_post.conf"] = "; custom additions, read after FreePBX's sections\n"
    files["pjsip.endpoint_custom_post.conf"] = """\
; calls from the carrier land in our own context first
[carrier-ip](+type=endpoint)
context=from-carrier-custom
"""
    files["pjsip.identify_custom_post.conf"] = """\
[carrier-ip](+type=identify)
match=203.0.113.12
"""
    files["pjsip.aor_custom_post.conf"] = """\
[sipgate-reg](+type=aor)
qualify_timeout=3.0
"""
    # core: pjsip_notify.conf when sip_notify_additional.conf and sip_notify_custom.conf exist
    files["pjsip_notify.conf"] = f"{BMO_HEADER}\n#include sip_notify_custom.conf\n#include sip_notify_additional.conf\n"  # noqa: E501
    files["sip_notify_custom.conf"] = ""
    files["sip_notify_additional.conf"] = LEGACY_HEADER + """\
[polycom-check-cfg]
Event=>check-sync
Content-Length=>0

[yealink-check-cfg]
Event=>check-sync\\;reboot=false
Content-Length=>0

"""
    return files


def dialplan_files() -> dict[str, str]:
    """extensions.conf as core ships it (abridged), the generated and the custom dialplan."""
    ext_local = "".join(f"exten => {n},1,Dial(PJSIP/{n},20)\n" for n in EXTENSIONS)
    additional = LEGACY_HEADER + f"""\
[globals]
#include globals_custom.conf
ALLOW_SIP_ANON=no
TRUNK_RING_TIMER=300

[ext-did]
include => ext-did-0001
include => ext-did-0002

[ext-did-0001]
exten => 4930123,1,Set(__FROM_DID=${{EXTEN}})
exten => 4930123,n,Goto(from-did-direct,2001,1)

;--== end of [ext-did-0001] ==--;

[ext-did-0002]
exten => 15550100,1,Set(__FROM_DID=${{EXTEN}})
exten => 15550100,n,Goto(from-did-direct,2002,1)

;--== end of [ext-did-0002] ==--;

[from-did-direct]
include => ext-local

[ext-did-catchall]
exten => _.,1,NoOp(No DID or CID Match)
exten => _.,n,Hangup()

[ext-local]
{ext_local}
[outbound-allroutes]
include => outrt-1

[outrt-1]
exten => _0X.,1,Dial(PJSIP/${{EXTEN}}@sipgate-reg,300)
exten => _0X.,n,Dial(PJSIP/${{EXTEN}}@carrier-ip,300)

[from-internal-additional]
exten => h,1,Hangup()

;--== end of [from-internal-additional] ==--;

"""
    extensions = """\
;--------------------------------------------------------------------------------;
; Do NOT edit this file as it is auto-generated by FreePBX. All modifications to ;
; this file must be done via the web gui. There are alternative files to make    ;
; custom modifications.                                                          ;
;--------------------------------------------------------------------------------;

#include extensions_override_freepbx.conf
#include extensions_additional.conf
#include extensions_custom.conf

[from-trunk]
include => from-pstn

[from-pstn]
include => from-pstn-custom
include => ext-did
include => ext-did-post-custom
include => from-did-direct
include => ext-did-catchall

[from-internal]
include => from-internal-custom
include => from-internal-additional
include => ext-local
include => outbound-allroutes
"""
    custom = """\
; Kept across Apply Config: FreePBX includes this after extensions_additional.conf.
[from-pstn-custom]

[ext-did-post-custom]

[from-internal-custom]
exten => *43,1,Answer()
exten => *43,n,Echo()
exten => *43,n,Hangup()

[from-carrier-custom]
exten => _X.,1,NoOp(carrier call to ${EXTEN})
exten => _X.,n,Goto(from-pstn,${EXTEN},1)
"""
    return {"extensions.conf": extensions, "extensions_additional.conf": additional,
            "extensions_custom.conf": custom, "extensions_override_freepbx.conf": "",
            "globals_custom.conf": "; site globals\nOPERATOR_EXT=2001\n"}


def other_files() -> dict[str, str]:
    """rtp, logger, manager and the chan_sip files FreePBX 16 leaves on a PJSIP-only box."""
    files: dict[str, str] = {}
    files["rtp.conf"] = """\
;--------------------------------------------------------------------------------;
; Do NOT edit this file as it is auto-generated by FreePBX. All modifications to ;
; this file must be done via the web gui. There are alternative files to make    ;
; custom modifications.                                                          ;
;--------------------------------------------------------------------------------;
;
; Copyright (C) 2012 Astrogen LLC (USA)

#include rtp_additional.conf
#include rtp_custom.conf
"""
    # sipsettings: an array value (ice_blacklist) is written `key = value`, even alone.
    files["rtp_additional.conf"] = bmo("", {"general": {
        "rtpstart": "12000", "rtpend": "14000", "rtpchecksums": "no", "strictrtp": "yes",
        "icesupport": "no", "ice_blacklist": "192.168.1.0/255.255.255.0"}}).replace(
        "ice_blacklist=", "ice_blacklist = ")
    files["rtp_custom.conf"] = "; site RTP tweaks\n[general](+)\ndtmftimeout=3000\n"
    files["logger.conf"] = """\
;--------------------------------------------------------------------------------;
; Do NOT edit this file as it is auto-generated by FreePBX. All modifications to ;
; this file must be done via the web gui. There are alternative files to make    ;
; custom modifications.                                                          ;
;--------------------------------------------------------------------------------;

[general]
#include logger_general_additional.conf
#include logger_general_custom.conf

[logfiles]
#include logger_logfiles_additional.conf
#include logger_logfiles_custom.conf
"""
    # logfiles: raw strings after the BMO banner (no section, no leading blank line)
    files["logger_general_additional.conf"] = BMO_HEADER + \
        "dateformat=%F %T\nqueue_log=yes\nrotatestrategy=rotate\n"
    files["logger_general_custom.conf"] = ""
    files["logger_logfiles_additional.conf"] = BMO_HEADER + \
        "console => notice,warning,error\nfull => notice,warning,error,verbose,dtmf,fax\n" \
        "security => security\n"
    files["logger_logfiles_custom.conf"] = "; kept by hand\nmessages => notice,warning,error\n"
    files["manager_additional.conf"] = LEGACY_HEADER + """\
[crm-bridge]
secret = crm-Bridge-9f3e
deny=0.0.0.0/0.0.0.0
permit=127.0.0.1/255.255.255.255
read=call,cdr
write=originate
writetimeout = 100

"""
    files["manager_custom.conf"] = ""
    # framework amp_conf/astetc/manager.conf, AMPMGRUSER/AMPMGRPASS filled in by install
    files["manager.conf"] = """\
;
; AMI - Asterisk Manager interface
;
; FreePBX needs this to be enabled. Note that if you enable it on a different IP, you need
; to assure that this can't be reached from un-authorized hosts with the ACL settings (permit/deny).
;
[general]
enabled = yes
port = 5038
bindaddr = 0.0.0.0
displayconnects=no

[admin]
secret = 6c1f0e1b4a9d27e3
deny=0.0.0.0/0.0.0.0
permit=127.0.0.1/255.255.255.0
read = system,call,log,verbose,command,agent,user,config,command,dtmf,reporting,cdr,dialplan,originate,message
write = system,call,log,verbose,command,agent,user,config,command,dtmf,reporting,cdr,dialplan,originate,message
writetimeout = 5000

#include manager_additional.conf
#include manager_custom.conf
"""
    files["sip.conf"] = """\
;--------------------------------------------------------------------------------;
; Do NOT edit this file as it is auto-generated by FreePBX. All modifications to ;
; this file must be done via the web gui. There are alternative files to make    ;
; custom modifications.                                                          ;
;--------------------------------------------------------------------------------;
[general]
#include sip_general_additional.conf
#include sip_general_custom.conf
#include sip_nat.conf
#include sip_registrations_custom.conf
#include sip_registrations.conf
#include sip_custom.conf
#include sip_additional.conf
#include sip_custom_post.conf
"""
    files["sip_general_additional.conf"] = LEGACY_HEADER + \
        "vmexten=*97\nbindport=5160\ncontext=from-sip-external\nallowguest=no\n"
    files |= dict.fromkeys(("sip_additional.conf", "sip_registrations.conf"), LEGACY_HEADER)
    files |= dict.fromkeys(("sip_general_custom.conf", "sip_nat.conf", "sip_custom.conf",
                            "sip_registrations_custom.conf", "sip_custom_post.conf"), "")
    return files


def main() -> None:
    files = pjsip_files() | dialplan_files() | other_files()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(files.items()):
        (OUT / name).write_text(text)
    print(f"wrote {len(files)} files to {OUT}")


if __name__ == "__main__":
    main()
