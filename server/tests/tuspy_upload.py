"""Uploads one file to the siteproof tus endpoint with tuspy, a standard tus client.

usage: tuspy_upload.py ENDPOINT TOKEN RECORD SHA256 PATH [CHUNK [--step]]

Uses tuspy's checksum support with sha256 (the algorithm the server offers) and CHUNK-byte
PATCHes (4 MiB by default). With --step, prints `offset N` after each acknowledged PATCH and
waits for a line on standard input before the next, so a test can look at the server's state
between two PATCHes. Needs `pip install tuspy`.
"""

import hashlib
import sys

from tusclient import client
from tusclient.uploader import Uploader


class Sha256Uploader(Uploader):
    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def main():
    endpoint, token, record, sha256, path = sys.argv[1:6]
    chunk = int(sys.argv[6]) if len(sys.argv) > 6 else 4 * 1024 * 1024
    step = "--step" in sys.argv[7:]
    tus = client.TusClient(endpoint, headers={"Authorization": "Bearer " + token})
    uploader = Sha256Uploader(
        file_path=path,
        client=tus,
        chunk_size=chunk,
        metadata={"record": record, "sha256": sha256, "filetype": "video/mp4", "filename": "clip.mp4"},
        upload_checksum=True,
    )
    if step:
        size = uploader.get_file_size()
        while uploader.offset < size:
            # One PATCH: upload() stops at the first offset at or past stop_at.
            uploader.upload(stop_at=min(uploader.offset + chunk, size))
            print("offset", uploader.offset, flush=True)
            sys.stdin.readline()
    else:
        uploader.upload()
    print("uploaded", uploader.url, uploader.offset)


if __name__ == "__main__":
    main()
