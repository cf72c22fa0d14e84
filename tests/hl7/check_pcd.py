#!/usr/bin/env python3
"""Checks IHE PCD messages strictly, with hl7apy (PyPI; .ci/run installs it), software no one
here wrote, then the IHE PCD rules hl7apy does not know.

Usage: check_pcd.py [--hl7apy-every N] FILE. FILE holds messages in ER7, segments ended by CR, one message after
another, each ended by a line feed (LF). Prints one line per message; exits 1 on the first
message that fails, saying why. --hl7apy-every N has hl7apy read the first, the last and every
Nth message only (a day of a pump's messages a minute apart are 1 440 of one template, and
hl7apy takes about 30 ms for each); the IHE rules are checked on every one.

Three kinds of message, told apart by MSH-9:
  ORU^R01^ORU_R01  DEC PCD-01, the pump's observations (containment tree MDS, VMD, channel);
  ORU^R40^ORU_R40  ACM PCD-04, one alarm as its 7 facets (hl7apy has no ORU_R40: it reads the
                   message as ORU_R01, MSH-9.3 swapped for that parse only);
  ORU^R42^ORU_R01  IPEC PCD-10, one delivery event: a PCD-01 tree whose MDS carries the event
                   (68487 MDC_ATTR_EVT_COND) and its source (68488 MDC_ATTR_EVT_SOURCE).
Sources of the rules: IHE PCD TF-2 Rev 8 (App. B: MSH, OBR, OBX; Table B.8.5-2: the alarm's
facets) and the IPEC supplement (PCD-10).

mllp_listener.py imports check(), mllp_send.py read_messages().
"""
import re
import sys

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

DEC, ACM, IPEC = "ORU^R01^ORU_R01", "ORU^R40^ORU_R40", "ORU^R42^ORU_R01"
# MSH-9 -> the profile's OID that MSH-21 must name (EI-3, with EI-4 ISO).
PROFILES = {
    DEC: "1.3.6.1.4.1.19376.1.6.1.1.1",  # DEC PCD-01
    ACM: "1.3.6.1.4.1.19376.1.6.1.4.1",  # ACM PCD-04
    IPEC: "1.3.6.1.4.1.19376.1.6.4.10",  # IPEC PCD-10
}
EUI64 = re.compile(r"^[0-9A-F]{16}$")
# A device-related OBX-4: MDS.VMD.CHAN.0 (1.0.0.0 the MDS, 1.1.0.0 a VMD, 1.1.1.0 a channel).
DEVICE_LEVEL = re.compile(r"^\d+\.\d+\.\d+\.0$")
# An event CWE: an MDC event code first (code^MDC_EVT_...^MDC), maybe more components after.
MDC_EVENT = re.compile(r"^\d+\^MDC_EVT_[A-Z0-9_]+\^MDC(\^|$)")

# ACM (PCD-04): the 7 facets of one alarm, in this order under one OBX-4 prefix (TF-2 Table
# B.8.5-2): OBX-3, OBX-2, and the values OBX-5 may take (None: checked apart).
ALARM_FACETS = [
    ("196616^MDC_EVT_ALARM^MDC", "CWE", None),
    ("68480^MDC_ATTR_ALERT_SOURCE^MDC", "CWE", None),
    ("68481^MDC_ATTR_EVENT_PHASE^MDC", "ST",
     ["start", "start_only", "continue", "end", "present", "update", "escalate", "inactivate",
      "deescalate", "reset", "stop", "tpoint"]),
    ("68482^MDC_ATTR_ALARM_STATE^MDC", "ST", ["inactive", "active", "latched"]),
    ("68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC", "ST",
     ["enabled", "audio-paused", "audio-off", "alarm-paused", "alarm-off", "alert-acknowledged"]),
    ("68484^MDC_ATTR_ALARM_PRIORITY^MDC", "ST", ["PN", "PL", "PM", "PH"]),
    ("68485^MDC_ATTR_ALERT_TYPE^MDC", "ST", ["SP", "ST", "SA"]),
]
# The alert source (facet 2's OBX-5) is the device the facets hang under.
ALERT_SOURCES = {
    "1.0.0.0": "69985^MDC_DEV_PUMP_INFUS_MDS^MDC",
    "1.1.0.0": "69986^MDC_DEV_PUMP_INFUS_VMD^MDC",
    "1.1.1.0": "126978^MDC_DEV_PUMP_INFUS_CHAN_DELIVERY^MDC",
}
# IPEC (PCD-10): the event and its source, at the MDS level.
EVT_COND = "68487^MDC_ATTR_EVT_COND^MDC"
EVT_SOURCE = "68488^MDC_ATTR_EVT_SOURCE^MDC"


class Refused(Exception):
    """A message breaks a rule; the text says which."""


def refuse(why):
    raise Refused(why)


def field(fields, i):
    """Field i of a segment split at "|" (for MSH, index i is MSH-(i+1)); "" when absent."""
    return fields[i] if i < len(fields) else ""


def triplet(cwe):
    """The first three components of a CWE/CE: code^text^coding system."""
    return "^".join((cwe.split("^") + ["", ""])[:3])


def eui_problem(ei):
    """Why an EI is not EUI^^EUI^EUI-64 (the device's EUI-64 in EI-1 and EI-3), or None."""
    eui = ei.split("^")
    if len(eui) != 4 or eui[0] != eui[2] or not EUI64.match(eui[0]) or eui[3] != "EUI-64":
        return f"{ei!r} is not EUI^^EUI^EUI-64"
    return None


def event_problem(cwe, local_first=False):
    """Why a CWE is not an event code, or None: an MDC event first (e.g.
    197288^MDC_EVT_PUMP_DELIV_START^MDC); an event with no 11073 code is the generic
    196616^MDC_EVT_ALARM^MDC with a local alternate code, all three of CWE-4..6 valued. With
    local_first (IPEC, whose events are not alarms), a local code may come first instead:
    code^text^99zzz (HL7 table 0396: 99zzz or L for a local coding system)."""
    parts = (cwe.split("^") + [""] * 6)[:6]
    if local_first and not MDC_EVENT.match(cwe):
        if parts[0] and parts[1] and re.match(r"^(99[0-9A-Z]{1,3}|L)$", parts[2]):
            return None
        return f"{cwe!r} is neither an MDC event (code^MDC_EVT_...^MDC) nor a local one (code^text^99zzz)"
    if not MDC_EVENT.match(cwe):
        return f"{cwe!r} is not an MDC event (code^MDC_EVT_...^MDC)"
    alternate = parts[3:6]
    if any(alternate) and not all(alternate):
        return f"{cwe!r} has a partial alternate code (CWE-4..6 are code^text^coding system)"
    return None


def read_by_hl7apy(er7, kind):
    """hl7apy's strict parse against HL7 v2.6's structures, then its validation, then the
    round trip: hl7apy drops or reorders segments that do not fit the structure, so the
    message must come back as it was sent."""
    text = er7
    if kind == ACM:
        # hl7apy knows no ORU_R40; the PCD-04 layout fits ORU_R01, so it reads it as that.
        first, _, rest = er7.partition("\r")
        msh = first.split("|")
        msh[8] = "ORU^R40^ORU_R01"
        text = "|".join(msh) + ("\r" + rest if rest else "")
    try:
        msg = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        msg.validate()
        back = msg.to_er7()
    except Exception as e:  # hl7apy's own refusal, with its reason
        refuse(f"hl7apy refuses it: {type(e).__name__}: {e}")
    if back != text:
        sent, read = text.split("\r"), back.split("\r")
        # The first segment that differs, to say what hl7apy made of it.
        diff = next((i for i, (a, b) in enumerate(zip(sent, read)) if a != b), min(len(sent), len(read)))
        a, b = field(sent, diff), field(read, diff)
        hint = " (trailing empty fields, which hl7apy drops)" if a.rstrip("|") == b else ""
        refuse(
            "hl7apy did not read every segment in place (a segment out of the structure): "
            f"segment {diff + 1} sent {a!r}, read back {b!r}{hint}"
        )


def check(er7, strict=True):
    """Checks one message (its segments joined by CR, no trailing CR): with hl7apy if strict,
    and the IHE rules always. Returns what was checked, as check_pcd.py prints it after
    "message N: "; raises Refused saying which rule a message breaks."""
    if "\n" in er7:
        refuse("a line feed in the message (segments are ended by CR only)")
    segments = er7.split("\r")
    if not segments[0].startswith("MSH|"):
        refuse(f"the message does not start with an MSH segment: {segments[0][:40]!r}")
    if "" in segments:
        refuse(f"an empty segment (two CRs in a row) after segment {segments.index('')}")
    msh = segments[0].split("|")
    kind = field(msh, 8)
    if kind not in PROFILES:
        refuse(f"MSH-9 {kind!r} is not a message this checker knows ({', '.join(PROFILES)})")
    if strict:
        read_by_hl7apy(er7, kind)

    # The message header (IHE PCD TF-2 B.1).
    if field(msh, 1) != "^~\\&":
        refuse(f"MSH-2 {field(msh, 1)!r}, not the encoding characters ^~\\&")
    if field(msh, 11) != "2.6":
        refuse(f"MSH-12 {field(msh, 11)!r}, not 2.6")
    if (field(msh, 14), field(msh, 15)) != ("AL", "NE"):
        refuse(f"MSH-15/16 {field(msh, 14)!r}/{field(msh, 15)!r}, not AL/NE (IHE PCD TF-2 B.1)")
    if field(msh, 20).split("^")[2:4] != [PROFILES[kind], "ISO"]:
        refuse(f"MSH-21 {field(msh, 20)!r} does not name the profile {PROFILES[kind]}")
    app = field(msh, 2).split("^")
    if len(app) != 3 or not EUI64.match(app[1]) or app[2] != "EUI-64":
        refuse(f"MSH-3 {field(msh, 2)!r} is not name^EUI-64^EUI-64")
    if not re.match(r"^\d{14}[+-]\d{4}$", field(msh, 6)):
        refuse(f"MSH-7 {field(msh, 6)!r} is not a time to the second with its offset")
    if not field(msh, 9):
        refuse("MSH-10 (the message control ID) is empty")

    # The observations: numbered 1, 2, 3..., their OBX-4 dotted numbers, unique, in
    # dictionary order (TF-2 B.8.2).
    obx = [s.split("|") for s in segments if s.startswith("OBX|")]
    if not obx:
        refuse("no OBX")
    ids = [field(o, 1) for o in obx]
    if ids != [str(i) for i in range(1, len(obx) + 1)]:
        refuse(f"OBX-1 set IDs {ids}, not 1, 2, 3... in order")
    for o in obx:
        if not re.match(r"^\d+(\.\d+)*$", field(o, 4)):
            refuse(f"OBX {o[1]}: OBX-4 {field(o, 4)!r} is not dotted numbers (MDS.VMD.CHAN.METRIC)")
    positions = [tuple(int(p) for p in o[4].split(".")) for o in obx]
    if positions != sorted(positions) or len(set(positions)) != len(positions):
        refuse(f"OBX-4 not unique and in order: {[o[4] for o in obx]}")

    obr = [s.split("|") for s in segments if s.startswith("OBR|")]
    if kind == ACM:
        check_alarm(obr, obx)
    else:
        check_containment(obx)
        if kind == IPEC:
            check_ipec_event(obx)
    read = "read by hl7apy, " if strict else ""
    return f"{kind} MSH-10 {field(msh, 9)}, {len(obx)} OBX, {read}valid"


def check_containment(obx):
    """DEC PCD-01 and IPEC PCD-10: the pump's containment tree, the MDS first with its EUI-64,
    OBX-11 X exactly on device levels, numbers with their MDC units."""
    if obx[0][4] != "1.0.0.0" or not field(obx[0], 3).startswith("69985^MDC_DEV_PUMP_INFUS_MDS^MDC"):
        refuse("the first OBX is not the pump's MDS at 1.0.0.0")
    problem = eui_problem(field(obx[0], 18))
    if problem:
        refuse(f"the MDS's OBX-18 {problem}")
    for o in obx:
        device_level = o[4].endswith(".0")
        status = field(o, 11)
        # OBX-11 is required (hl7apy only sees it when it reads the message).
        if not status or device_level != (status == "X"):
            refuse(
                f"OBX {o[1]}: OBX-11 {status!r} for {o[4]} "
                "(X exactly for device levels, a result status such as R on the others)"
            )
        if not device_level:
            if field(o, 2) == "NM" and not re.match(r"^-?\d+(\.\d+)?$", field(o, 5)):
                refuse(f"OBX {o[1]}: {field(o, 5)!r} is not a number")
            if field(o, 2) == "NM" and not re.match(r"^\d+\^MDC_DIM_\w+\^MDC\^", field(o, 6)):
                refuse(f"OBX {o[1]}: a number without its MDC unit")


def check_ipec_event(obx):
    """IPEC PCD-10: exactly one event condition (68487, a CWE event code) and one event source
    (68488, the OBX-4 of a device in the message), both at the MDS level (1.0.0.n)."""
    devices = [o[4] for o in obx if DEVICE_LEVEL.match(o[4])]
    for code, value_type in ((EVT_COND, "CWE"), (EVT_SOURCE, "ST")):
        rows = [o for o in obx if triplet(field(o, 3)) == code]
        if len(rows) != 1:
            refuse(f"IPEC: {len(rows)} OBX {code}, not exactly one")
        o = rows[0]
        if not re.match(r"^1\.0\.0\.[1-9]\d*$", o[4]):
            refuse(f"IPEC: OBX {o[1]} {code} at {o[4]}, not at the MDS level (1.0.0.n)")
        if field(o, 2) != value_type:
            refuse(f"IPEC: OBX {o[1]} {code} has OBX-2 {field(o, 2)!r}, not {value_type}")
        if code == EVT_COND:
            problem = event_problem(field(o, 5), local_first=True)
            if problem:
                refuse(f"IPEC: the event (OBX {o[1]} OBX-5) {problem}")
        elif field(o, 5) not in devices:
            refuse(
                f"IPEC: the event source (OBX {o[1]} OBX-5) {field(o, 5)!r} is not the OBX-4 of a "
                f"device-level row in the message ({', '.join(devices)})"
            )


def check_alarm(obr, obx):
    """ACM PCD-04: one alarm, its OBR naming MDC_EVT_ALARM and the alarm's identity across its
    phases (OBR-29), its 7 facets under one device (TF-2 Table B.8.5-2), all final (OBX-11 F)."""
    if len(obr) != 1:
        refuse(f"ACM: {len(obr)} OBR, not one (one alarm a message)")
    if field(obr[0], 4) != "196616^MDC_EVT_ALARM^MDC":
        refuse(f"ACM: OBR-4 {field(obr[0], 4)!r}, not 196616^MDC_EVT_ALARM^MDC")
    parent = field(obr[0], 29).split("^")
    alarm = field(parent, 1).split("&")
    if len(alarm) != 4 or not alarm[0] or not EUI64.match(alarm[2]) or alarm[3] != "EUI-64":
        refuse(
            f"ACM: OBR-29 {field(obr[0], 29)!r} is not the alarm's identity "
            "^id&namespace&EUI-64&EUI-64 (EIP-2)"
        )
    if len(obx) != len(ALARM_FACETS):
        refuse(f"ACM: {len(obx)} OBX, not the {len(ALARM_FACETS)} facets of one alarm")
    prefixes = {o[4].rsplit(".", 1)[0] for o in obx}
    if len(prefixes) != 1:
        refuse(f"ACM: the facets' OBX-4 {[o[4] for o in obx]} are not under one device")
    prefix = prefixes.pop()
    if not DEVICE_LEVEL.match(prefix):
        refuse(f"ACM: the facets' OBX-4 prefix {prefix!r} is not a device level (MDS.VMD.CHAN.0)")
    facets = [o[4].rsplit(".", 1)[1] for o in obx]
    if facets != [str(i) for i in range(1, len(ALARM_FACETS) + 1)]:
        refuse(f"ACM: the facets' OBX-4 {[o[4] for o in obx]} are not {prefix}.1 to .7 in order")
    for o, (code, value_type, values) in zip(obx, ALARM_FACETS):
        if triplet(field(o, 3)) != code:
            refuse(
                f"ACM: OBX {o[1]} OBX-3 {field(o, 3)!r}, not {code} (the facets in order: "
                + ", ".join(c.split("^")[0] for c, _, _ in ALARM_FACETS) + ")"
            )
        if field(o, 2) != value_type:
            refuse(f"ACM: OBX {o[1]} {code} has OBX-2 {field(o, 2)!r}, not {value_type}")
        if field(o, 11) != "F":
            refuse(f"ACM: OBX {o[1]}: OBX-11 {field(o, 11)!r}, not F (every facet is final)")
        if values is not None and field(o, 5) not in values:
            name = code.split("^")[1]
            refuse(f"ACM: OBX {o[1]} {name} {field(o, 5)!r} is not one of {', '.join(values)}")
    problem = event_problem(field(obx[0], 5))
    if problem:
        refuse(f"ACM: the alarm's event (OBX 1 OBX-5) {problem}")
    problem = eui_problem(field(obx[0], 18))
    if problem:
        refuse(f"ACM: OBX 1's OBX-18 {problem}")
    source = triplet(field(obx[1], 5))
    if source not in ALERT_SOURCES.values():
        refuse(
            f"ACM: the alert source (OBX 2 OBX-5) {field(obx[1], 5)!r} is not one of "
            + ", ".join(ALERT_SOURCES.values())
        )
    if ALERT_SOURCES.get(prefix) != source:
        refuse(
            f"ACM: the alert source {source.split('^')[0]} does not match the facets' prefix "
            f"{prefix} (" + ", ".join(f"{p} -> {s.split('^')[0]}" for p, s in ALERT_SOURCES.items()) + ")"
        )


def read_messages(path):
    """The messages of FILE: one a line (LF), segments ended by CR; blank lines skipped."""
    # newline="": the CRs that end segments are read as they are.
    text = open(path, encoding="utf-8", newline="").read()
    return [m.rstrip("\r") for m in text.split("\n") if m.strip()]


def fail(n, why):
    print(f"message {n}: {why}")
    sys.exit(1)


def main():
    args = sys.argv[1:]
    every = 1
    if len(args) == 3 and args[0] == "--hl7apy-every":
        every = max(1, int(args[1]))
        args = args[2:]
    if len(args) != 1:
        print(__doc__)
        sys.exit(2)
    messages = read_messages(args[0])
    if not messages:
        fail(0, "no message in the file")
    for n, m in enumerate(messages, 1):
        strict = n == 1 or n == len(messages) or n % every == 0
        try:
            print(f"message {n}: {check(m, strict)}")
        except Refused as e:
            fail(n, e)


if __name__ == "__main__":
    main()
