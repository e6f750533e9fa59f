"""A tiny SMTP server (stdlib socketserver) that keeps what it receives: aiosmtpd is not installed."""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes, policy
from email.message import Message
from typing import Any


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _say(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self._say("220 sink ESMTP")
        mail_from, rcpt = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250-sink")
                self._say("250 8BITMIME")
            elif verb == "MAIL":
                mail_from, rcpt = line.split(":", 1)[1].strip(), []
                self._say("250 OK")
            elif verb == "RCPT":
                rcpt.append(line.split(":", 1)[1].strip().strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go ahead")
                data = b""
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = message_from_bytes(data, policy=policy.default)
                self.server.received.append({"from": mail_from, "to": rcpt, "message": message})
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 OK")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    received: list[dict[str, Any]]


class SMTPSink:
    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.received = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.server.received

    def messages(self) -> list[Message]:
        return [r["message"] for r in self.received]

    def start(self) -> SMTPSink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
