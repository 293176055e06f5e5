"""Uploads one file to the siteproof tus endpoint with tuspy, a standard tus client.

usage: tuspy_upload.py ENDPOINT TOKEN RECORD SHA256 PATH

Uses tuspy's checksum support with sha256 (the algorithm the server offers) and 4 MiB
chunks. Needs `pip install tuspy`.
"""

import hashlib
import sys

from tusclient import client
from tusclient.uploader import Uploader


class Sha256Uploader(Uploader):
    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def main():
    endpoint, token, record, sha256, path = sys.argv[1:6]
    tus = client.TusClient(endpoint, headers={"Authorization": "Bearer " + token})
    uploader = Sha256Uploader(
        file_path=path,
        client=tus,
        chunk_size=4 * 1024 * 1024,
        metadata={"record": record, "sha256": sha256, "filetype": "video/mp4", "filename": "clip.mp4"},
        upload_checksum=True,
    )
    uploader.upload()
    print("uploaded", uploader.url, uploader.offset)


if __name__ == "__main__":
    main()
