import http from 'node:http';

/** An HTTP reply with its body as bytes. */
interface HttpBytesReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP reply, its body read as latin1. */
interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to `url` (5 s timeout); resolves with the whole answer. */
export function httpBytes(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpBytesReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** One request to 127.0.0.1:`port` with the matching Host header, which `opts.headers` may override. */
export async function httpRequest(
  port: number,
  p: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpReply> {
  const r = await httpBytes(`http://127.0.0.1:${port}${p}`, { ...opts, headers: { Host: `127.0.0.1:${port}`, ...opts.headers } });
  return { ...r, body: r.body.toString('latin1') };
}
