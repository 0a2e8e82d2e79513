/** Raw HTTP requests to a browser-mode server (fetch cannot set Host, stream a chunked body slowly, or stop mid-way). */
import http from 'node:http'

export interface RawReply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface RawRequest {
  port: number
  path: string
  method?: string
  headers?: Record<string, string>
  /** sent as chunked transfer encoding, one write per chunk (no Content-Length) */
  chunks?: Buffer[]
  body?: string | Buffer
}

export function raw(r: RawRequest): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: r.port, path: r.path, method: r.method ?? 'GET', headers: { Host: `127.0.0.1:${r.port}`, ...r.headers }, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }))
      res.on('error', reject)
    })
    // the server may answer (413) and close before the whole body is written: that is the point
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)))
    if (r.chunks) {
      for (const c of r.chunks) req.write(c)
      req.end()
    } else req.end(r.body)
  })
}

/** A request whose body is started but not finished until `finish()` (holds a server slot). */
export function pending(port: number, path: string, headers: Record<string, string>): { reply: Promise<RawReply>; finish(): void } {
  let req!: http.ClientRequest
  const reply = new Promise<RawReply>((resolve, reject) => {
    req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { Host: `127.0.0.1:${port}`, ...headers }, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }))
    })
    req.on('error', reject)
  })
  req.write('ATOM')
  return { reply, finish: () => req.end('END\n') }
}
