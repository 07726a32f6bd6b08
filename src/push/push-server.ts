import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { advertisedHost } from '../advertised-host.js';
import { CAMERA_ID_PATTERN, type Camera } from '../cameras/camera.js';
import type { CameraRegistry } from '../cameras/registry.js';
import { redactSecrets } from '../cameras/url.js';
import type { Config } from '../config/schema.js';
import { Errors } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisKeys } from '../redis/keys.js';
import { withTimeout } from '../with-timeout.js';
import { type NmsSession, type RtmpConnection, routeNmsLog, startRtmpSession } from './nms.js';
import type { PublishClaim, PublishClaims } from './publish-claims.js';
import { publishKeyMatches } from './publish-key.js';
import { PUSH_APP } from './publish-url.js';
import type { PullTokens } from './pull-token.js';

/** A claim outlives its push server by at most this long; a publisher that moves elsewhere waits that long. */
const CLAIM_TTL_MS = 10_000;
const CLAIM_RENEW_MS = 3000;
/** Admission reads Redis; a publisher is refused rather than left waiting when Redis does not answer. */
const ADMISSION_TIMEOUT_MS = 5000;
/** Publishers and players stream all the time: a connection silent both ways this long is dead. */
const IDLE_TIMEOUT_MS = 30_000;

/** Why a publisher or player was turned away, as logged and counted (never with the key it sent). */
export type Refusal =
  | 'bad_path'
  | 'unknown_camera'
  | 'not_push'
  | 'disabled'
  | 'no_key'
  | 'wrong_key'
  | 'already_publishing'
  | 'unavailable'
  | 'play_refused';

type Admission = { ok: true; claim: PublishClaim; keyHash: string } | { ok: false; refusal: Refusal };

interface Publisher {
  cameraId: string;
  connection: RtmpConnection;
  claim: PublishClaim;
  /** The key hash it was admitted with: a new key (or a disabled camera) disconnects it. */
  keyHash: string;
  remote: string;
}

export interface PushServerDeps {
  config: Config;
  log: Logger;
  registry: CameraRegistry;
  claims: PublishClaims;
  pullTokens: PullTokens;
  /** A connection of its own, for the registry's change channel. */
  subscriber: Redis;
  keys: RedisKeys;
  metrics: Registry;
}

export interface PushListening {
  rtmpPort: number;
  rtmpsPort: number | null;
  /** rtmp://host:port where workers pull what is published here. */
  origin: string;
}

/** node-media-server keeps streams in module state, so one process holds one push server. */
let pushServerInProcess = false;

/**
 * Push cameras' front door: accepts RTMP(S) publishers through node-media-server, admits only the right key
 * for an enabled push camera with no other publisher anywhere (a claim in Redis), and lets workers' ffmpeg
 * play the stream back with a pull token. A publisher that leaves takes its players with it, so the ingest
 * sees the end at once.
 */
export class PushServer {
  readonly serverId = randomBytes(6).toString('hex');
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly publishers = new Map<string, Publisher>();
  private readonly log: Logger;
  private readonly refused: Counter<'reason'>;
  private renewTimer: NodeJS.Timeout | null = null;
  private origin = '';
  private stopping = false;

  constructor(private readonly deps: PushServerDeps) {
    this.log = deps.log.child({ role: 'push' });
    this.refused = new Counter({
      name: 'camrelay_push_refused_total',
      help: 'RTMP publishers and players turned away, by reason.',
      labelNames: ['reason'],
      registers: [deps.metrics],
    });
    const publishers = this.publishers;
    new Gauge({
      name: 'camrelay_push_publishers',
      help: 'Publishers streaming to this push server now.',
      registers: [deps.metrics],
      collect() {
        this.set(publishers.size);
      },
    });
  }

  async start(): Promise<PushListening> {
    if (pushServerInProcess) throw new Error('this process runs an RTMP server already');
    pushServerInProcess = true;
    const nmsLog = this.log.child({ component: 'node-media-server' });
    routeNmsLog((level, message) => {
      const text = redactSecrets(message, []);
      if (level === 'error' || level === 'warn') nmsLog.warn(text);
      else nmsLog.debug(text);
    });
    const { push } = this.deps.config;
    const rtmpPort = await this.listen(
      createServer((socket) => this.accept(socket)),
      push.port,
      'RTMP_PORT',
    );
    let rtmpsPort: number | null = null;
    if (push.rtmps) {
      const [key, cert] = await Promise.all([readFile(push.rtmps.keyFile), readFile(push.rtmps.certFile)]);
      const tls = createTlsServer({ key, cert }, (socket) => this.accept(socket));
      tls.on('tlsClientError', (err) => this.log.debug({ err }, 'RTMPS handshake failed'));
      rtmpsPort = await this.listen(tls, push.rtmps.port, 'RTMPS_PORT');
    }
    this.origin = push.advertiseUrl ?? `rtmp://${advertisedHost(push.host)}:${rtmpPort}`;
    await this.followRegistry();
    this.renewTimer = setInterval(() => void this.renewClaims(), CLAIM_RENEW_MS);
    this.log.info({ rtmpPort, rtmpsPort, origin: this.origin }, 'RTMP server listening');
    return { rtmpPort, rtmpsPort, origin: this.origin };
  }

  /** Stops listening, drops every connection and gives up every claim, so publishers may go elsewhere. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    const claims = [...this.publishers.values()].map((p) =>
      this.deps.claims.release(p.cameraId, p.claim).catch(() => undefined),
    );
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([
      ...claims,
      ...this.servers.map((server) => new Promise((resolve) => server.close(resolve))),
    ]);
    await this.deps.subscriber.unsubscribe(this.deps.keys.cameraChanges).catch(() => undefined);
    pushServerInProcess = false;
  }

  private async listen(server: Server, port: number, key: string): Promise<number> {
    const host = this.deps.config.push.host;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new Errors.RTMP_LISTEN_FAILED(`${key} ${port} on ${host}`, err.message)),
      );
      server.listen(port, host, resolve);
    });
    server.on('error', (err) => this.log.error({ err }, 'RTMP server error'));
    this.servers.push(server);
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.once('close', () => this.sockets.delete(socket));
    const remote = socket.remoteAddress ?? 'unknown';
    const connection = startRtmpSession(socket, {
      onPublish: (session, decide) => {
        this.decide(session, decide, connection, remote).catch((err: unknown) => {
          this.log.error({ err, cameraId: session.streamName }, 'could not admit a publisher');
          decide.reject();
        });
      },
      onPlay: (session) => {
        const allowed = this.mayPlay(session);
        if (!allowed) this.refuse('play_refused', session, remote);
        return allowed;
      },
    });
  }

  /** Admits a publisher or turns it away; a claim taken for one that left meanwhile is given back. */
  private async decide(
    session: NmsSession,
    decide: { accept(): boolean; reject(): void },
    connection: RtmpConnection,
    remote: string,
  ): Promise<void> {
    const admission = await this.admit(session);
    if (!admission.ok) {
      this.refuse(admission.refusal, session, remote);
      return decide.reject();
    }
    const gone = connection.closed || this.stopping;
    if (!gone && decide.accept()) {
      this.admitted({ cameraId: session.streamName, connection, remote, ...admission });
      return;
    }
    await this.deps.claims.release(session.streamName, admission.claim).catch(() => undefined);
    if (gone) return;
    // NMS itself has a publisher on this path (one whose claim lapsed): the newcomer waits its turn.
    this.refuse('already_publishing', session, remote);
    decide.reject();
  }

  private async admit(session: NmsSession): Promise<Admission> {
    try {
      return await withTimeout(this.check(session), ADMISSION_TIMEOUT_MS);
    } catch (err) {
      this.log.warn({ err, cameraId: session.streamName }, 'could not check a publisher');
      return { ok: false, refusal: 'unavailable' };
    }
  }

  private async check(session: NmsSession): Promise<Admission> {
    const cameraId = session.streamName;
    if (session.streamApp !== PUSH_APP || !CAMERA_ID_PATTERN.test(cameraId))
      return { ok: false, refusal: 'bad_path' };
    const camera = await this.deps.registry.get(cameraId);
    const refusal = refusalFor(camera, session.streamQuery.key);
    if (refusal || !camera?.publishKeyHash) return { ok: false, refusal: refusal ?? 'not_push' };
    const claim: PublishClaim = {
      origin: this.origin,
      serverId: this.serverId,
      sessionId: session.id,
      sinceMs: Date.now(),
    };
    if (!(await this.deps.claims.take(cameraId, claim, CLAIM_TTL_MS)))
      return { ok: false, refusal: 'already_publishing' };
    return { ok: true, claim, keyHash: camera.publishKeyHash };
  }

  private admitted(publisher: Publisher): void {
    const { cameraId, connection, remote } = publisher;
    this.publishers.set(cameraId, publisher);
    this.log.info({ cameraId, remote }, 'publisher admitted');
    connection.onClose(() => {
      if (this.publishers.get(cameraId) === publisher) this.publishers.delete(cameraId);
      // Players (the ingest's ffmpeg) learn at once that the stream ended, instead of waiting on silence.
      const players = connection.closePlayers();
      this.log.info({ cameraId, remote, players }, 'publisher left');
      void this.deps.claims
        .release(cameraId, publisher.claim)
        .catch((err: unknown) => this.log.warn({ err, cameraId }, 'could not release a publish claim'));
    });
  }

  private mayPlay(session: NmsSession): boolean {
    return (
      session.streamApp === PUSH_APP &&
      CAMERA_ID_PATTERN.test(session.streamName) &&
      this.deps.pullTokens.verify(session.streamName, session.streamQuery.token)
    );
  }

  private refuse(refusal: Refusal, session: NmsSession, remote: string): void {
    this.refused.inc({ reason: refusal });
    // The name is shown only when it could be a camera id: a client's text goes to the log no other way.
    const cameraId = CAMERA_ID_PATTERN.test(session.streamName) ? session.streamName : null;
    this.log.warn({ cameraId, remote, refusal }, 'RTMP client refused');
  }

  private async followRegistry(): Promise<void> {
    const { subscriber, keys } = this.deps;
    await subscriber.subscribe(keys.cameraChanges);
    subscriber.on('message', (channel, cameraId) => {
      if (channel === keys.cameraChanges && this.publishers.has(cameraId)) void this.recheck(cameraId);
    });
  }

  /** A publisher stays only while its camera is an enabled push camera with the key it came with. */
  private async recheck(cameraId: string): Promise<void> {
    const publisher = this.publishers.get(cameraId);
    if (!publisher) return;
    try {
      const camera = await this.deps.registry.get(cameraId);
      const stays =
        camera?.source === 'push' && camera.enabled && camera.publishKeyHash === publisher.keyHash;
      if (!stays)
        this.kick(publisher, camera ? 'its camera changed key or was disabled' : 'its camera was deleted');
    } catch (err) {
      this.log.warn({ err, cameraId }, 'could not recheck a publisher');
    }
  }

  private async renewClaims(): Promise<void> {
    const claims = new Map([...this.publishers].map(([id, publisher]) => [id, publisher.claim]));
    try {
      const lost = await this.deps.claims.renew(claims, CLAIM_TTL_MS);
      for (const cameraId of lost) {
        const publisher = this.publishers.get(cameraId);
        if (publisher) this.kick(publisher, 'another push server holds its camera now');
      }
    } catch (err) {
      this.log.warn({ err }, 'could not renew publish claims');
    }
  }

  private kick(publisher: Publisher, why: string): void {
    this.log.warn(
      { cameraId: publisher.cameraId, remote: publisher.remote },
      `publisher disconnected: ${why}`,
    );
    publisher.connection.close();
  }
}

/** Why a publisher may not publish to this camera with this key, or null when it may. */
export function refusalFor(camera: Camera | null, key: unknown): Refusal | null {
  if (!camera) return 'unknown_camera';
  if (camera.source !== 'push') return 'not_push';
  if (!camera.enabled) return 'disabled';
  if (key === undefined || key === '') return 'no_key';
  return publishKeyMatches(key, camera.publishKeyHash) ? null : 'wrong_key';
}
