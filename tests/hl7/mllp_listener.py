#!/usr/bin/env python3
"""An MLLP listener standing in for the hospital's side in the Rust integration tests: it takes
the pump's IHE PCD messages over TCP, checks each, keeps those it accepts and answers each with
an HL7 v2.6 acknowledgement, as a Device Observation Consumer would.

Usage: mllp_listener.py --port P --out FILE [--hl7apy-every N] [--nak-every K]
                         [--tls-cert PEM --tls-key PEM]

  --port P           TCP port on 127.0.0.1; 0 takes any free one. The first line on stdout is
                     "listening on PORT" (flushed), for the test to read the port from.
  --out FILE         each accepted message is appended as one line: its segments joined by CR,
                     then LF (the format check_pcd.py reads); flushed and fsynced before the ACK.
  --hl7apy-every N   hl7apy's strict parse on message 1 and every Nth received (default 1: all);
                     the IHE rules (check_pcd.py) on every message.
  --nak-every K      every Kth message received is refused (MSA|AE|id|test: asked to refuse)
                     and not written, so the sender must send it again (default 0: never).
  --tls-cert, --tls-key
                     TLS (Python's ssl module): the server's certificate chain and its key; a
                     client that does not complete the handshake (it does not trust the
                     certificate) is dropped, and said on stderr.

MLLP framing: each message is 0x0B, the message, 0x1C 0x0D. Any number of connections, one
after another or at once, each with any number of messages; bytes before a 0x0B are ignored; a
frame cut off by the connection closing is discarded. The answer to each message:
  MSH|^~\\&|LISTENER|TEST|<its MSH-3>|<its MSH-4>|<now>||ACK^<its trigger>^ACK|<unique>|P|2.6
  MSA|AA|<its MSH-10>                 accepted and written (or written before: a re-send)
  MSA|AE|<its MSH-10>|<reason>        refused, not written; the reason also on stderr
A message whose MSH-3 and MSH-10 match one already written (a re-send of a message whose ACK
was lost) is acknowledged AA again, not written twice, and "duplicate MSH-10 <id>" is printed
on stderr. Runs until killed; SIGTERM or SIGINT closes it cleanly (exit 0), with a summary on
stderr. Standard library and hl7apy (through check_pcd.py) only.
"""
import argparse
import ssl
import datetime
import os
import signal
import socketserver
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the repository for check_pcd
from check_pcd import Refused, check

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def log(text):
    print(text, file=sys.stderr, flush=True)


def escape(text):
    """Text made safe for an HL7 field: the escape character first, then the delimiters;
    line ends become spaces."""
    for char, sequence in (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\")):
        text = text.replace(char, sequence)
    return text.replace("\r", " ").replace("\n", " ")


class Frames:
    """Cuts MLLP frames out of the bytes of one connection, as they arrive in any pieces."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, data):
        """Adds received bytes; returns the messages (bytes, without framing) now complete."""
        self.buffer += data
        messages = []
        while True:
            start = self.buffer.find(VT)
            if start < 0:
                # No frame begun: whatever came is junk (keep nothing).
                if self.buffer.strip():
                    log(f"ignored {len(self.buffer)} bytes outside a frame")
                self.buffer.clear()
                return messages
            if start > 0:
                if self.buffer[:start].strip():
                    log(f"ignored {start} bytes before a frame's 0x0B")
                del self.buffer[:start]
            end = self.buffer.find(FS + CR)
            # A second VT before the end: the frame before it was cut off; the newer one counts.
            restart = self.buffer.find(VT, 1)
            if restart > 0 and (end < 0 or restart < end):
                log(f"discarded {restart} bytes of a frame that had no end (a new 0x0B came)")
                del self.buffer[:restart]
                continue
            if end < 0:
                return messages  # the rest of this frame is still to come
            messages.append(bytes(self.buffer[1:end]))
            del self.buffer[: end + 2]

    def pending(self):
        """Bytes of a frame begun and not ended."""
        return len(self.buffer)


class Listener:
    """What the listener keeps across connections: the counts, the file, the messages
    written. One message is decided at a time (a lock), so the counts and the file agree."""

    def __init__(self, out, hl7apy_every, nak_every):
        self.lock = threading.Lock()
        self.file = open(out, "a", encoding="utf-8", newline="")
        self.hl7apy_every = max(1, hl7apy_every)
        self.nak_every = nak_every
        self.written = {}  # (MSH-3, MSH-10) -> the message in the file
        self.received = self.accepted = self.refused = self.naked = self.duplicates = 0
        self.strict = 0  # messages hl7apy read
        self.acks = 0  # numbers the ACKs' own MSH-10

    def answer(self, raw):
        """Decides on one message (the bytes of a frame); returns the framed ACK to send, or
        None once the listener is stopping."""
        with self.lock:
            if self.file.closed:  # stopping: no answer, the connection is closed
                return None
            self.received += 1
            n = self.received
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                text = raw.decode("utf-8", errors="replace")
                return self.refuse(n, text, f"not UTF-8: {e}")
            # The segments, each ended by CR: joined by CR, no CR after the last.
            er7 = text.rstrip("\r")
            if self.nak_every and n % self.nak_every == 0:
                self.naked += 1
                return self.ack(er7, "AE", "test: asked to refuse")
            strict = n == 1 or n % self.hl7apy_every == 0
            self.strict += strict
            try:
                check(er7, strict)
            except Refused as e:
                return self.refuse(n, er7, str(e))
            except Exception as e:  # a message odd enough to trip the checker itself
                return self.refuse(n, er7, f"the checker failed on it: {type(e).__name__}: {e}")
            msh = msh_fields(er7)
            key = (field(msh, 3), field(msh, 10))
            if key in self.written:
                # A re-send: acknowledged again, not written twice. The same MSH-10 on another
                # message from the same sender would be a sender's bug: said, not refused.
                self.duplicates += 1
                differs = " (differs from the message written with it)" if self.written[key] != er7 else ""
                log(f"duplicate MSH-10 {key[1]}{differs}")
            else:
                self.file.write(er7 + "\n")
                self.file.flush()
                os.fsync(self.file.fileno())
                self.written[key] = er7
                self.accepted += 1
            return self.ack(er7, "AA")

    def refuse(self, n, er7, why):
        self.refused += 1
        log(f"message {n} (MSH-10 {field(msh_fields(er7), 10)!r}) refused: {why}")
        return self.ack(er7, "AE", why)

    def ack(self, er7, code, why=None):
        """The framed HL7 v2.6 ACK to a message: to its sender (MSH-3, MSH-4), for its trigger,
        acknowledging its MSH-10."""
        msh = msh_fields(er7)
        trigger = field(msh, 9).split("^")[1:2]
        trigger = trigger[0] if trigger and trigger[0].isalnum() and len(trigger[0]) == 3 else "R01"
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d%H%M%S+0000")
        self.acks += 1
        header = [
            "MSH", "^~\\&", "LISTENER", "TEST", field(msh, 3), field(msh, 4), now, "",
            f"ACK^{trigger}^ACK", f"{os.getpid()}.{self.acks}", "P", "2.6",
        ]
        msa = ["MSA", code, field(msh, 10)] + ([escape(why)] if why is not None else [])
        ack = "|".join(header) + "\r" + "|".join(msa) + "\r"
        return VT + ack.encode("utf-8") + FS + CR

    def summary(self):
        return (
            f"listener: {self.received} received, {self.accepted} written, {self.refused} refused, "
            f"{self.naked} refused on request (--nak-every), {self.duplicates} duplicates, "
            f"{self.strict} read by hl7apy"
        )


def msh_fields(er7):
    """The MSH's fields by number (index 1 is MSH-1, the field separator), of a message that may
    be broken: empty when it does not start with an MSH."""
    first = er7.split("\r", 1)[0]
    if not first.startswith("MSH|"):
        return []
    return ["MSH", "|"] + first.split("|")[1:]


def field(fields, i):
    """Field i of a list, or "" when absent; for safety in the ACK, fields with line ends or
    framing bytes in them are emptied."""
    value = fields[i] if i < len(fields) else ""
    return "" if any(c in value for c in "\r\n\x0b\x1c") else value


class Connection(socketserver.BaseRequestHandler):
    """One sender's connection: reads frames until it closes, answering each message."""

    def handle(self):
        listener = self.server.listener
        frames = Frames()
        peer = "%s:%d" % self.client_address
        while True:
            try:
                data = self.request.recv(65536)
            except OSError as e:
                log(f"{peer}: {e}")
                break
            if not data:
                break
            for raw in frames.feed(data):
                ack = listener.answer(raw)
                if ack is None:
                    return
                try:
                    self.request.sendall(ack)
                except OSError as e:  # the sender left without its ACK: it will send again
                    log(f"{peer}: could not send the ACK: {e}")
                    return
        if frames.pending():
            log(f"{peer}: closed in the middle of a frame; {frames.pending()} bytes discarded")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True  # a connection left open does not keep the listener alive
    tls = None  # an ssl.SSLContext when the listener speaks TLS

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls is None:
            return sock, addr
        try:
            return self.tls.wrap_socket(sock, server_side=True), addr
        except OSError as e:  # ssl.SSLError among them: socketserver drops the request
            log("%s:%d: TLS handshake failed: %s" % (addr[0], addr[1], e))
            sock.close()
            raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--hl7apy-every", type=int, default=1)
    parser.add_argument("--nak-every", type=int, default=0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()

    listener = Listener(args.out, args.hl7apy_every, args.nak_every)
    server = Server(("127.0.0.1", args.port), Connection)
    server.listener = listener
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        server.tls = tls

    def stop(signum, frame):
        # Raised in the main thread, out of serve_forever below.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        with listener.lock:  # not in the middle of writing a message
            listener.file.close()
            log(listener.summary())


if __name__ == "__main__":
    main()
