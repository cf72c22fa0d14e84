#!/usr/bin/env python3
"""Drives the emulated Pi's touchscreen through QEMU's machine protocol (QMP): pictures of the
display (`screendump`) and taps on it (`input-send-event` to the virtio tablet).

    image/kiosk.py SOCKET shot FILE.png
    image/kiosk.py SOCKET tap X Y          (pixels on the 800x480 display)
    image/kiosk.py SOCKET steps FILE DIR   (a file of steps: "shot NAME", "tap X Y", "sleep S";
                                            pictures go to DIR/NAME.png)

Standard library only: image/boot-test.sh --kiosk runs it on a machine with nothing else.
"""
import json
import socket
import sys
import time

WIDTH, HEIGHT = 800, 480
# The tablet's absolute axes run 0..0x7fff across the display.
AXIS = 0x7FFF


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self._read()  # the greeting
        self.call("qmp_capabilities")

    def _read(self):
        while True:
            msg = json.loads(self.file.readline())
            if "event" not in msg:
                return msg

    def call(self, command, **arguments):
        self.file.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            raise RuntimeError(f"{command}: {reply['error']}")
        return reply.get("return")


def shot(qmp, path):
    qmp.call("screendump", filename=path, format="png")


def tap(qmp, x, y):
    ax, ay = round(x * AXIS / (WIDTH - 1)), round(y * AXIS / (HEIGHT - 1))
    move = [
        {"type": "abs", "data": {"axis": "x", "value": ax}},
        {"type": "abs", "data": {"axis": "y", "value": ay}},
    ]
    qmp.call("input-send-event", events=move)
    qmp.call("input-send-event", events=[{"type": "btn", "data": {"down": True, "button": "left"}}])
    time.sleep(0.15)
    qmp.call("input-send-event", events=[{"type": "btn", "data": {"down": False, "button": "left"}}])


def steps(qmp, file, out):
    for number, line in enumerate(open(file), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        what, args = words[0], words[1:]
        if what == "shot":
            shot(qmp, f"{out}/{args[0]}.png")
            print(f"  shot {args[0]}", flush=True)
        elif what == "tap":
            tap(qmp, int(args[0]), int(args[1]))
            print(f"  tap {args[0]} {args[1]}" + (f"  ({' '.join(args[2:])})" if len(args) > 2 else ""), flush=True)
        elif what == "sleep":
            time.sleep(float(args[0]))
        else:
            sys.exit(f"{file}:{number}: unknown step {what!r}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    qmp = Qmp(sys.argv[1])
    command, args = sys.argv[2], sys.argv[3:]
    if command == "shot":
        shot(qmp, args[0])
    elif command == "tap":
        tap(qmp, int(args[0]), int(args[1]))
    elif command == "steps":
        steps(qmp, args[0], args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
