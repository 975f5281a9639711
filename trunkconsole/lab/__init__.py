"""The lab: a real Asterisk 22 and a real SIP carrier (sipp) in network namespaces."""
