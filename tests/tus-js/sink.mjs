// A tus 1.0 endpoint that reads every PATCH body and keeps none of it: what tus-js-client
// sends when the server costs nothing, the ceiling any server can reach with this client.
// One upload at a time; the offset it answers is the bytes it read, so tus-js-client reports
// success only once every byte has come.
//
// usage: TUS_PORT=N node sink.mjs      prints "listening PORT" once it accepts connections
//
// Run by the media benchmark (`server/examples/media_bench.rs`, `scripts/bench-peers.sh media`).

import http from 'node:http'

const port = Number(process.env.TUS_PORT ?? 18089)
let length = 0
let offset = 0

const tus = (extra) => ({ 'Tus-Resumable': '1.0.0', 'Cache-Control': 'no-store', ...extra })

const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    length = Number(req.headers['upload-length'])
    offset = 0
    res.writeHead(201, tus({ Location: '/files/sink' }))
    res.end()
  } else if (req.method === 'PATCH') {
    if (Number(req.headers['upload-offset']) !== offset) {
      res.writeHead(409, tus({}))
      res.end()
      return
    }
    req.on('data', (chunk) => {
      offset += chunk.length
    })
    req.on('end', () => {
      res.writeHead(204, tus({ 'Upload-Offset': String(offset) }))
      res.end()
    })
  } else if (req.method === 'HEAD') {
    res.writeHead(200, tus({ 'Upload-Offset': String(offset), 'Upload-Length': String(length) }))
    res.end()
  } else {
    res.writeHead(405, tus({}))
    res.end()
  }
})
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
process.on('SIGTERM', () => process.exit(0))
