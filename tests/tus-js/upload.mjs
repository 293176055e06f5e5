// Uploads one file with tus-js-client (unmodified, default options: one PATCH for the whole
// file, its own retries) and prints what happened as JSON: every answer the client read, in
// order, with the Upload-Offset each request sent and each answer carried.
//
// usage: node upload.mjs ENDPOINT TOKEN RECORD SHA256 PATH
//
// Run by the siteproof-server test tus_js_client; `npm ci` in this folder installs the client.

import fs from 'node:fs'
import { Upload } from 'tus-js-client'

const [endpoint, token, record, sha256, path] = process.argv.slice(2)
const answers = []

const upload = new Upload(fs.createReadStream(path), {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { record, sha256, filetype: 'video/mp4', filename: 'clip.mp4' },
  onAfterResponse(req, res) {
    const sent = req.getHeader('Upload-Offset')
    const offset = res.getHeader('Upload-Offset')
    answers.push({
      method: req.getMethod(),
      status: res.getStatus(),
      sent_offset: sent === undefined ? null : Number(sent),
      offset: offset === undefined ? null : Number(offset),
    })
  },
  onError(error) {
    console.log(JSON.stringify({ ok: false, error: String(error), answers }))
    process.exit(1)
  },
  onSuccess() {
    console.log(JSON.stringify({ ok: true, url: upload.url, answers }))
    // A command-line uploader is done here; exiting also stops the rest of a body the
    // server answered early.
    process.exit(0)
  },
})
upload.start()
