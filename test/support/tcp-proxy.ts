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
  /**
   * Strands every open connection: it stays open but nothing passes any more, either way (its state
   * was lost in the network); connections accepted later pass as usual. Returns how many were stranded.
   */
  strand(): number;
  /** Stranded connections the client has not closed yet. */
  stranded(): number;
  /** Delays every chunk, each way, by this many ms (0: none). */
  setLatency(ms: number): void;
  /** Open client connections. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  stranded: boolean;
}

/** A loopback TCP proxy in front of a real server, to simulate outages without touching the server. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: ProxyMode = 'up';
  let latencyMs = 0;
  const sockets = new Set<net.Socket>();
  const pairs = new Set<Pair>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  /** Forwards `from` to `to` with the current latency, in order, unless the pair is stranded. */
  const forward = (pair: Pair, from: net.Socket, to: net.Socket): void => {
    let last = 0;
    from.on('data', (chunk: Buffer) => {
      if (pair.stranded) return;
      if (latencyMs === 0 && last <= Date.now()) {
        to.write(chunk);
        return;
      }
      const at = Math.max(last, Date.now() + latencyMs);
      last = at;
      setTimeout(() => {
        if (!pair.stranded && !to.destroyed) to.write(chunk);
      }, at - Date.now());
    });
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
    const pair: Pair = { client, upstream, stranded: false };
    pairs.add(pair);
    forward(pair, client, upstream);
    forward(pair, upstream, client);
    client.on('close', () => {
      upstream.destroy();
      pairs.delete(pair);
    });
    upstream.on('close', () => {
      // A stranded connection learns nothing of its server going away either.
      if (!pair.stranded) client.destroy();
    });
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
    strand(): number {
      let n = 0;
      for (const pair of pairs) {
        if (pair.stranded) continue;
        pair.stranded = true;
        n++;
      }
      return n;
    },
    stranded: () => [...pairs].filter((p) => p.stranded && !p.client.destroyed).length,
    setLatency(ms: number): void {
      latencyMs = Math.max(0, ms);
    },
    connections: () => sockets.size,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
