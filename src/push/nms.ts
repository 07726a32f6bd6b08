import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/**
 * The one door to node-media-server (v4, pinned): its RTMP protocol and session code, which ships no types.
 *
 * camrelay uses NMS's RtmpSession and BroadcastServer (handshake, chunking, AMF, fan-out to players) and
 * not its NodeMediaServer class, whose run() also starts an HTTP-FLV server with an admin API, a JSON store
 * on disk, a recorder and a relay, and calls process.exit() when a port is taken. The servers that accept
 * sockets are camrelay's own (push-server.ts); each socket gets an RtmpSession whose callbacks pass through
 * the hooks below, so nothing reaches a player before camrelay admits its publisher.
 */

/** A media packet as NMS parses it from FLV tags (its AVPacket). */
export interface NmsPacket {
  codec_type: number;
  flags: number;
  dts: number;
  pts: number;
  size: number;
  data: Buffer;
}

/** What camrelay reads of an NMS session. NMS parses the query of `name?query` with node:querystring. */
export interface NmsSession {
  readonly id: string;
  readonly streamApp: string;
  readonly streamName: string;
  readonly streamPath: string;
  readonly streamQuery: Record<string, string | string[] | undefined>;
  readonly isPublisher: boolean;
  inBytes: number;
  outBytes: number;
}

interface NmsBroadcast {
  publisher: NmsSession | null;
  subscribers: Map<string, NmsSessionInternals>;
  publishGraceMs: number;
}

interface NmsSessionInternals extends NmsSession {
  broadcast: NmsBroadcast;
  run(): void;
  close(): void;
  onPush: () => void;
  onPlay: () => void;
  onPacket: (packet: NmsPacket) => void;
}

type NmsLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

interface NmsLogger {
  level: string;
  log(message: string, level?: NmsLogLevel): void;
}

const require = createRequire(import.meta.url);
const RtmpSession = require('node-media-server/src/session/rtmp_session.js') as new (
  socket: Socket,
) => NmsSessionInternals;
const nmsLogger = require('node-media-server/src/core/logger.js') as NmsLogger;

/** How camrelay takes part in one RTMP session; each hook decides whether NMS goes on. */
export interface RtmpSessionHooks {
  /** The client asked to publish. Call `accept` to hand it to NMS, or `reject`; media waits until then. */
  onPublish(session: NmsSession, decide: { accept(): boolean; reject(): void }): void;
  /** The client asked to play: true lets NMS serve it. */
  onPlay(session: NmsSession): boolean;
}

/** Packets a publisher may send before its admission is decided (the socket is paused meanwhile). */
const MAX_HELD_PACKETS = 2048;

/** Gives a socket to an NMS RTMP session, with camrelay's hooks in front of publishing and playing. */
export function startRtmpSession(socket: Socket, hooks: RtmpSessionHooks): RtmpConnection {
  const session = new RtmpSession(socket);
  const nms = { push: session.onPush, play: session.onPlay, packet: session.onPacket };
  let gate: 'closed' | 'held' | 'open' = 'closed';
  const held: NmsPacket[] = [];
  session.onPacket = (packet) => {
    if (gate === 'open') return nms.packet(packet);
    if (gate !== 'held' || held.length >= MAX_HELD_PACKETS) return session.close();
    // NMS's parser may reuse its buffers; a held packet keeps a copy.
    held.push({ ...packet, data: Buffer.from(packet.data) });
  };
  session.onPush = () => {
    if (gate !== 'closed') return session.close();
    gate = 'held';
    socket.pause();
    hooks.onPublish(session, {
      accept: () => {
        // Nobody resumes an old publish here: a new publisher starts clean, and players see it end at once.
        session.broadcast.publishGraceMs = 0;
        nms.push();
        if (!session.isPublisher) return false;
        gate = 'open';
        for (const packet of held.splice(0)) nms.packet(packet);
        socket.resume();
        return true;
      },
      reject: () => {
        held.length = 0;
        session.close();
        socket.destroy();
      },
    });
  };
  session.onPlay = () => {
    if (hooks.onPlay(session)) nms.play();
    else {
      session.close();
      socket.destroy();
    }
  };
  session.run();
  return new RtmpConnection(session, socket);
}

/** One RTMP connection, as the push server tracks it. */
export class RtmpConnection {
  constructor(
    readonly session: NmsSession,
    private readonly socket: Socket,
  ) {}

  /** Players attached to this connection's stream path (on this process), other than itself. */
  closePlayers(): number {
    const internals = this.session as NmsSessionInternals;
    const players = [...internals.broadcast.subscribers.values()].filter((s) => s !== internals);
    for (const player of players) player.close();
    return players.length;
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  onClose(listener: () => void): void {
    this.socket.once('close', listener);
  }

  close(): void {
    (this.session as NmsSessionInternals).close();
    this.socket.destroy();
  }
}

/** NMS logs with console.log; its lines go to camrelay's logger instead, through `write`. */
export function routeNmsLog(write: (level: NmsLogLevel, message: string) => void): void {
  nmsLogger.level = 'trace';
  nmsLogger.log = (message, level = 'info') => write(level, String(message));
}
