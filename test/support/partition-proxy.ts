import { connect, createServer, type Server, type Socket } from 'node:net';
import { redisOptionsFromUrl } from '../../src/redis/connection.js';

export interface PartitionProxy {
  /** redis:// URL of the proxy, for the process that is to be cut off. */
  url: string;
  /** A partition as a network has one: nothing flows either way, and no connection closes or is refused. */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of Redis on 127.0.0.1 that can play a network partition between one process and
 * Redis while everyone else still reaches it. Cut connections stay open and silent, the way a partition
 * looks to a client: its commands hang instead of failing.
 */
export async function startPartitionProxy(redisUrl: string): Promise<PartitionProxy> {
  const target = redisOptionsFromUrl(redisUrl);
  const sockets = new Set<Socket>();
  // What was sent during a cut arrives once it heals, as TCP would retransmit it.
  const held: Array<() => void> = [];
  let isCut = false;
  const forward = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => {
      if (isCut) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const server: Server = createServer((client) => {
    const upstream = target.path
      ? connect(target.path)
      : connect(target.port ?? 6379, target.host ?? '127.0.0.1');
    forward(client, upstream);
    forward(upstream, client);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no TCP address');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    cut: () => {
      isCut = true;
    },
    heal: () => {
      isCut = false;
      for (const write of held.splice(0)) write();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
