"""A real SMTP server on loopback for the mail stories (NOT-2), on Debian's python3-aiosmtpd.

Usage: /usr/bin/python3 smtp_sink.py PORT DIRECTORY

Listens on 127.0.0.1:PORT and writes every message it accepts to DIRECTORY as one JSON file
{"mail_from": ..., "rcpt_tos": [...], "data": "<the message as received>"}, written aside and renamed so a
reader never sees half a file. Prints READY on stdout once it accepts connections, then runs until killed.
"""

import json
import os
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content
        if isinstance(content, bytes):
            content = content.decode("utf-8", errors="replace")
        record = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "data": content}
        # Nanoseconds first, so the files sort in the order they arrived.
        name = "%020d-%s.json" % (time.time_ns(), uuid.uuid4().hex)
        partial = os.path.join(self.directory, "." + name + ".partial")
        with open(partial, "w", encoding="utf-8") as file:
            json.dump(record, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    # start() returns once the server answers a connection of its own.
    controller.start()
    print("READY", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
