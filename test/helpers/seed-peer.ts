/**
 * A seed peer, implemented byte-exactly from the MacTella flow chart
 * (../shared/seed/mactella-flow-chart.txt), to test that MacTella still talks
 * to the seed's own Python peers. It reproduces the seed's reads (one
 * recv(1024) on the server, recv(64) then recv(128) in the GET client) and
 * its sends (sendall of the size, then the file line by line).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

interface SeedFile {
  name: string;
  size: number;
  type: string;
}

/** A blocking-style reader over a socket: recv(n) returns at most n bytes, '' at EOF. */
class Recv {
  private chunks: Buffer[] = [];
  private ended = false;
  private waiter?: () => void;
  constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }
  async recv(n: number): Promise<Buffer> {
    while (this.chunks.length === 0 && !this.ended) await new Promise<void>((r) => (this.waiter = r));
    const first = this.chunks[0];
    if (!first) return Buffer.alloc(0);
    // Like recv(): at most n bytes of what has arrived, possibly spanning several segments.
    const parts: Buffer[] = [];
    let want = n;
    while (want > 0 && this.chunks.length) {
      const c = this.chunks[0]!;
      const take = c.subarray(0, want);
      parts.push(take);
      want -= take.length;
      if (take.length === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take.length);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

export class SeedPeer {
  readonly HOST = 'localhost';
  PORT = 0;
  List_of_Peers: { IP_address: string; Port: number }[] = [];
  readonly searchResults: string[] = [];
  readonly received: string[] = [];
  thread_counter = 0;
  private server!: net.Server;

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    this.server = net.createServer((s) => void this.handle(s));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.PORT = (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  getList(): SeedFile[] {
    const out: SeedFile[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const ext = path.extname(name);
      const type = ext === '.mov' ? 'video' : ext === '.mp3' ? 'music' : ext === '.jpg' ? 'picture' : undefined;
      if (type) out.push({ name, size: fs.statSync(path.join(this.dir, name)).size, type });
    }
    return out;
  }

  /** send_using_new_socket: connect, sendall, (no close: Python's GC closes it). */
  send_using_new_socket(IP: string, port: number | string, message: string): void {
    const sock = net.connect({ host: IP === 'localhost' ? '127.0.0.1' : IP, port: Number(port) });
    sock.on('error', () => {});
    sock.on('connect', () => sock.end(message));
  }

  // ---------------- server side
  private async handle(socket: net.Socket): Promise<void> {
    this.thread_counter++;
    const r = new Recv(socket);
    try {
      let data = (await r.recv(1024)).toString('latin1');
      data = data.trim();
      this.received.push(data);
      if (data !== '') {
        if (data.startsWith('LISTR')) {
          let response = '';
          for (const f of this.getList()) response = response + f.type + '\t ' + f.name + '\t size: ' + f.size;
          socket.write(response === '' ? 'There is no files in the directory' : response);
        } else if (data.startsWith('DISCOVER')) {
          let TTL = parseInt(data.split(',')[1]!, 10);
          const main_IP = data.split(',')[2]!;
          const main_port = parseInt(data.split(',')[3]!, 10);
          if (TTL > 0) {
            TTL -= 1;
            const response = 'DISCOV_Result,' + this.HOST + ',' + this.PORT;
            data = data.split(',')[0] + ',' + TTL + ',' + main_IP + ',' + main_port;
            this.send_using_new_socket(main_IP, main_port, response);
            for (const peer of this.List_of_Peers)
              if (peer.IP_address !== main_IP || peer.Port !== main_port) this.send_using_new_socket(peer.IP_address, peer.Port, data);
          }
        } else if (data.startsWith('DISCOV_Result')) {
          const ip = data.split(',')[1]!;
          const port = parseInt(data.split(',')[2]!, 10);
          if (!this.List_of_Peers.some((p) => p.IP_address === ip && p.Port === port))
            this.List_of_Peers.push({ IP_address: ip, Port: port });
        } else if (data.startsWith('SEARCH')) {
          let TTL = parseInt(data.split(',')[2]!, 10);
          const filename = data.split(',')[1]!;
          const main_IP = data.split(',')[3]!;
          const main_port = data.split(',')[4]!;
          if (TTL > 0) {
            TTL = TTL - 1;
            data = data.split(',')[0] + ',' + filename + ',' + TTL + ',' + main_IP + ',' + main_port;
            for (const f of this.getList()) {
              if (f.name === filename) {
                this.send_using_new_socket(main_IP, main_port, 'SEAR_Result' + ',' + this.HOST + ',' + this.PORT);
                break;
              }
            }
            for (const peer of this.List_of_Peers)
              if (peer.IP_address !== main_IP || String(peer.Port) !== main_port)
                this.send_using_new_socket(peer.IP_address, peer.Port, data);
          }
        } else if (data.startsWith('SEAR_Result')) {
          this.searchResults.push(data);
        } else if (data.startsWith('GET')) {
          const parts = data.split(',');
          if (parts.length === 4) {
            const filename = parts[1]!;
            let found = false;
            for (const f of this.getList()) {
              if (f.name === filename) {
                found = true;
                socket.write(String(f.size));
                // for line in f1: sendall(line)
                const content = fs.readFileSync(path.join(this.dir, f.name));
                let start = 0;
                for (let i = 0; i < content.length; i++) {
                  if (content[i] === 0x0a) {
                    socket.write(content.subarray(start, i + 1));
                    start = i + 1;
                  }
                }
                if (start < content.length) socket.write(content.subarray(start));
              }
            }
            if (!found) socket.write('ERROR: could not find the file in the server');
          }
        }
      }
    } finally {
      socket.end();
      this.thread_counter--;
    }
  }

  // ---------------- client side
  async LISTR(ip: string, port: number): Promise<string> {
    const sock = net.connect({ host: ip, port });
    const r = new Recv(sock);
    await new Promise((res) => sock.once('connect', res));
    sock.write('LISTR');
    const data = await r.recv(1024);
    sock.destroy();
    return data.toString('latin1');
  }

  /** SEARCH / DISCOVER: the command plus this peer's HOST and PORT, to every known peer. */
  async flood(command: string): Promise<void> {
    for (const peer of this.List_of_Peers)
      this.send_using_new_socket(peer.IP_address, peer.Port, command + ',' + this.HOST + ',' + this.PORT);
  }

  /** GET,name,ip,port: recv(64) for the size, then recv(128) until the size is reached. */
  async GET(command: string, outDir: string): Promise<{ ok: boolean; error?: string; file?: string }> {
    const [, name, ip, port] = command.split(',');
    const sock = net.connect({ host: ip, port: Number(port) });
    const r = new Recv(sock);
    await new Promise((res) => sock.once('connect', res));
    sock.write(command);
    const data = (await r.recv(64)).toString('latin1');
    if (data.startsWith('ERROR:')) {
      sock.destroy();
      return { ok: false, error: data };
    }
    const filesize = parseInt(data, 10);
    if (String(filesize) !== data) {
      // int(data) raises in Python when the data arrived glued to the size.
      sock.destroy();
      return { ok: false, error: `int() failed on ${JSON.stringify(data.slice(0, 20))}` };
    }
    const file = path.join(outDir, name!);
    const parts: Buffer[] = [];
    let amount_received = 0;
    while (amount_received < filesize) {
      const chunk = await r.recv(128);
      if (chunk.length === 0) break;
      parts.push(chunk);
      amount_received += chunk.length;
    }
    sock.destroy();
    if (amount_received !== filesize) return { ok: false, error: 'short read' };
    fs.writeFileSync(file, Buffer.concat(parts));
    return { ok: true, file };
  }
}
