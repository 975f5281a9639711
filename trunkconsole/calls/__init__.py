"""Calls from PJSIP history and RTCP: ladder, pcap, DID headers, media quality."""
