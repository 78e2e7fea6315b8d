import net from 'node:net';

/** A loopback TCP server whose `close` also destroys every socket still open. */
export interface TrackedServer {
  server: net.Server;
  port: number;
  close: () => Promise<void>;
}

/**
 * Listen on 127.0.0.1, port 0, handing each connection to `onSocket` (socket
 * errors are swallowed; the handler sees `close` if it cares).
 */
export async function listenTracked(onSocket: (socket: net.Socket) => void): Promise<TrackedServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
