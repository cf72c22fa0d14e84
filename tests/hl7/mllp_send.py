#!/usr/bin/env python3
"""A tiny MLLP client, to try tests/hl7/mllp_listener.py (or any MLLP receiver) by hand: sends
each message of FILE over one connection to 127.0.0.1, waits for each answer and prints its MSA
segment.

Usage: mllp_send.py PORT FILE. FILE is in the format check_pcd.py reads (one message a line,
segments ended by CR). Exits 1 if any answer is not MSA|AA (or none comes), 2 on bad usage.
"""
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository for check_pcd
from check_pcd import read_messages

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def read_frame(sock, buffer):
    """The next MLLP frame's content from sock (bytes before its 0x0B ignored), keeping what
    follows it in buffer; None if the connection closes first."""
    while True:
        start = buffer.find(VT)
        end = buffer.find(FS + CR, start + 1) if start >= 0 else -1
        if end >= 0:
            frame = bytes(buffer[start + 1 : end])
            del buffer[: end + 2]
            return frame
        data = sock.recv(65536)
        if not data:
            return None
        buffer += data


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    port, messages = int(sys.argv[1]), read_messages(sys.argv[2])
    all_accepted = True
    buffer = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for n, message in enumerate(messages, 1):
            # Each segment ended by CR, the whole framed.
            sock.sendall(VT + (message + "\r").encode("utf-8") + FS + CR)
            answer = read_frame(sock, buffer)
            if answer is None:
                print(f"message {n}: no answer, the connection closed")
                sys.exit(1)
            segments = answer.decode("utf-8", errors="replace").split("\r")
            msa = next((s for s in segments if s.startswith("MSA|")), f"no MSA in {segments!r}")
            print(msa)
            all_accepted &= msa.startswith("MSA|AA|")
    sys.exit(0 if all_accepted else 1)


if __name__ == "__main__":
    main()
