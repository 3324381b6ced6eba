import net from 'node:net';

/** How the proxy treats traffic: forward it, reset every connection, or accept and never answer. */
export type ProxyMode = 'up' | 'reset' | 'blackhole';

export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string;
  /** Switches the mode; leaving `up` destroys every open connection (the "database went away"). */
  setMode(mode: ProxyMode): void;
  /** Open client connections. */
  connections(): number;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of a real server, to simulate outages without touching the server. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: ProxyMode = 'up';
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === 'reset') {
      client.destroy();
      return;
    }
    if (mode === 'blackhole') return;
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url(url: string): string {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    setMode(next: ProxyMode): void {
      // Any change drops open connections: forwarded ones "go away", blackholed ones never recover.
      if (next !== mode) for (const s of sockets) s.destroy();
      mode = next;
    },
    connections: () => sockets.size,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
