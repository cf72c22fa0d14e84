#!/usr/bin/env python3
"""Checks IHE PCD messages strictly, with hl7apy (PyPI; .ci/run installs it), software no one
here wrote, then the IHE PCD rules hl7apy does not know.

Usage: check_pcd.py [--hl7apy-every N] FILE. FILE holds messages in ER7, segments ended by CR, one message after
another, each ended by a line feed (LF). Prints one line per message; exits 1 on the first
message that fails, saying why. --hl7apy-every N has hl7apy read the first, the last and every
Nth message only (a day of a pump's messages a minute apart are 1 440 of one template, and
hl7apy takes about 30 ms for each); the IHE rules are checked on every one.
"""
import re
import sys

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

PROFILES = {
    "ORU^R01^ORU_R01": "1.3.6.1.4.1.19376.1.6.1.1.1",  # DEC PCD-01
}
EUI64 = re.compile(r"^[0-9A-F]{16}$")


def fail(n, why):
    print(f"message {n}: {why}")
    sys.exit(1)


def check(n, er7, strict=True):
    if strict:
        # Strict parsing against HL7 v2.6's structures, then its validation.
        msg = parse_message(er7, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        msg.validate()
        # hl7apy drops or reorders segments that do not fit the structure: the message must
        # come back as it was sent.
        if msg.to_er7() != er7:
            fail(n, "hl7apy did not read every segment in place (a segment out of the structure)")
    fields = {s.split("|")[0]: s.split("|") for s in er7.split("\r")}
    msh = fields["MSH"]
    kind = msh[8]
    if kind not in PROFILES:
        fail(n, f"MSH-9 {kind!r} is not a message this checker knows")
    if msh[11] != "2.6":
        fail(n, f"MSH-12 {msh[11]!r}, not 2.6")
    if (msh[14], msh[15]) != ("AL", "NE"):
        fail(n, f"MSH-15/16 {msh[14]!r}/{msh[15]!r}, not AL/NE (IHE PCD TF-2 B.1)")
    if msh[20].split("^")[2:4] != [PROFILES[kind], "ISO"]:
        fail(n, f"MSH-21 {msh[20]!r} does not name the profile {PROFILES[kind]}")
    app = msh[2].split("^")
    if len(app) != 3 or not EUI64.match(app[1]) or app[2] != "EUI-64":
        fail(n, f"MSH-3 {msh[2]!r} is not name^EUI-64^EUI-64")
    if not re.match(r"^\d{14}[+-]\d{4}$", msh[6]):
        fail(n, f"MSH-7 {msh[6]!r} is not a time to the second with its offset")
    # The containment tree: OBX-4 unique, in dictionary order, MDS first with the EUI-64.
    obx = [s.split("|") for s in er7.split("\r") if s.startswith("OBX|")]
    if not obx:
        fail(n, "no OBX")
    positions = [tuple(int(p) for p in o[4].split(".")) for o in obx]
    if positions != sorted(positions) or len(set(positions)) != len(positions):
        fail(n, f"OBX-4 not unique and in order: {[o[4] for o in obx]}")
    if obx[0][4] != "1.0.0.0" or not obx[0][3].startswith("69985^MDC_DEV_PUMP_INFUS_MDS^MDC"):
        fail(n, "the first OBX is not the pump's MDS at 1.0.0.0")
    eui = obx[0][18].split("^") if len(obx[0]) > 18 else []
    if len(eui) != 4 or eui[0] != eui[2] or not EUI64.match(eui[0]) or eui[3] != "EUI-64":
        fail(n, f"the MDS's OBX-18 {obx[0][18] if len(obx[0]) > 18 else ''!r} is not EUI^^EUI^EUI-64")
    for o in obx:
        device_level = o[4].endswith(".0")
        status = o[11] if len(o) > 11 else ""
        if device_level != (status == "X"):
            fail(n, f"OBX {o[1]}: OBX-11 {status!r} for {o[4]} (X exactly for device levels)")
        if not device_level:
            if o[2] == "NM" and not re.match(r"^-?\d+(\.\d+)?$", o[5]):
                fail(n, f"OBX {o[1]}: {o[5]!r} is not a number")
            if o[2] == "NM" and not re.match(r"^\d+\^MDC_DIM_\w+\^MDC\^", o[6]):
                fail(n, f"OBX {o[1]}: a number without its MDC unit")
    read = "read by hl7apy, " if strict else ""
    print(f"message {n}: {kind} MSH-10 {msh[9]}, {len(obx)} OBX, {read}valid")


def main():
    args = sys.argv[1:]
    every = 1
    if len(args) == 3 and args[0] == "--hl7apy-every":
        every = max(1, int(args[1]))
        args = args[2:]
    if len(args) != 1:
        print(__doc__)
        sys.exit(2)
    # newline="": the CRs that end segments are read as they are.
    text = open(args[0], encoding="utf-8", newline="").read()
    messages = [m.rstrip("\r") for m in text.split("\n") if m.strip()]
    if not messages:
        fail(0, "no message in the file")
    for n, m in enumerate(messages, 1):
        strict = n == 1 or n == len(messages) or n % every == 0
        try:
            check(n, m, strict)
        except SystemExit:
            raise
        except Exception as e:  # hl7apy's own refusal, with its reason
            fail(n, f"hl7apy refuses it: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
