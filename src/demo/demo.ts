import type { CameraCreate } from '../cameras/camera.js';
import { maskUrl } from '../cameras/url.js';
import { type RunningCamrelay, startCamrelay } from '../camrelay.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { publishUrl } from '../push/publish-url.js';
import { type DemoPublisher, startDemoPublisher } from './demo-publisher.js';
import { type CameraKind, type RtspCameras, startRtspCameras } from './rtsp-cameras.js';

interface DemoCamera {
  id: string;
  name: string;
  kind: CameraKind;
}

/** One of each kind camrelay meets in the field; each shows its name, a moving ball and a clock. */
const PUBLIC_CAMERAS: DemoCamera[] = [
  { id: 'demo-lobby', name: 'Lobby (H.264)', kind: 'h264' },
  { id: 'demo-gate', name: 'Gate (H.264 + G.711 audio)', kind: 'h264+pcma' },
  { id: 'demo-garage', name: 'Garage (H.265, transcoded)', kind: 'h265' },
  { id: 'demo-street', name: 'Street (H.264 + AAC audio)', kind: 'h264+aac' },
];
const PROTECTED_CAMERA: DemoCamera = { id: 'demo-entrance', name: 'Entrance (password)', kind: 'h264' };
const DEMO_CREDENTIALS = { user: 'admin', password: 'demo-secret' };
const PUSH_CAMERA = { id: 'demo-patrol', name: 'Patrol car (RTMP push)' };

/**
 * `camrelay demo`: starts real RTSP cameras (GStreamer), camrelay in the `all` role with its own Redis,
 * registers the cameras through the same service the API uses, and says where to look.
 */
export async function startDemo(config: Config, log: Logger): Promise<RunningCamrelay> {
  const servers: RtspCameras[] = [];
  const stopServers = () => Promise.all(servers.map((server) => server.stop()));
  try {
    servers.push(await startCameras(config.demo.rtspPort, PUBLIC_CAMERAS));
    servers.push(await startCameras(config.demo.rtspPort + 1, [PROTECTED_CAMERA], DEMO_CREDENTIALS));
  } catch (err) {
    await stopServers();
    throw err;
  }
  let running: RunningCamrelay;
  try {
    running = await startCamrelay(config, 'all', log);
  } catch (err) {
    await stopServers();
    throw err;
  }
  const [open, locked] = servers as [RtspCameras, RtspCameras];
  const registrations = [
    ...PUBLIC_CAMERAS.map((camera) => registration(camera, open.url(camera.id))),
    registration(PROTECTED_CAMERA, locked.url(PROTECTED_CAMERA.id, DEMO_CREDENTIALS)),
  ];
  for (const camera of registrations) await upsert(running, camera);
  const shown = registrations.map((camera) => ({
    id: camera.id as string,
    name: camera.name,
    from: maskUrl(camera.url ?? ''),
  }));
  let publisher: DemoPublisher | null = null;
  if (running.push) {
    const url = await pushCameraUrl(running, running.push.rtmpPort);
    publisher = startDemoPublisher(url, log);
    shown.push({ ...PUSH_CAMERA, from: `a demo encoder publishing to ${maskUrl(url)}` });
  }
  printBanner(running, shown, await signedPlaylists(running, shown), config.security.adminToken);
  return {
    ...running,
    async stop() {
      await publisher?.stop();
      await running.stop();
      await stopServers();
    },
  };
}

/** The demo's push camera, with a new publish key each start: keys are shown once and kept nowhere. */
async function pushCameraUrl(running: RunningCamrelay, rtmpPort: number): Promise<string> {
  let key: string;
  try {
    ({ publishKey: key } = (await running.cameras.create({
      ...PUSH_CAMERA,
      source: 'push',
      mode: 'always',
      transcode: 'auto',
      rtspTransport: 'tcp',
      enabled: true,
      tags: ['demo', 'push'],
    })) as { publishKey: string });
  } catch (err) {
    if ((err as { code?: string }).code !== 'CAMRELAY_ERR_CAMERA_EXISTS') throw err;
    await running.cameras.update(PUSH_CAMERA.id, { enabled: true });
    ({ publishKey: key } = await running.cameras.renewPublishKey(PUSH_CAMERA.id));
  }
  return publishUrl(`rtmp://127.0.0.1:${rtmpPort}`, PUSH_CAMERA.id, key);
}

function startCameras(
  port: number,
  cameras: DemoCamera[],
  credentials?: { user: string; password: string },
): Promise<RtspCameras> {
  return startRtspCameras({
    port,
    mounts: cameras.map((camera) => ({ name: camera.id, kind: camera.kind })),
    ...(credentials ? { user: credentials.user, password: credentials.password } : {}),
  }).catch((err: Error) => {
    throw new Error(`${err.message}; is port ${port} free? Set DEMO_RTSP_PORT to use others`);
  });
}

function registration(camera: DemoCamera, url: string): CameraCreate {
  return {
    id: camera.id,
    name: camera.name,
    source: 'pull',
    url,
    mode: 'always',
    transcode: 'auto',
    rtspTransport: 'tcp',
    enabled: true,
    tags: ['demo'],
  };
}

/** A demo restarted on the same DATA_DIR finds its cameras registered already: point them at today's ports. */
async function upsert(running: RunningCamrelay, camera: CameraCreate): Promise<void> {
  try {
    await running.cameras.create(camera);
  } catch (err) {
    if ((err as { code?: string }).code !== 'CAMRELAY_ERR_CAMERA_EXISTS') throw err;
    await running.cameras.update(camera.id as string, { url: camera.url, enabled: true });
  }
}

/** The demo's playlist links last a day, so they still work after a coffee; the API's default is shorter. */
const DEMO_LINK_TTL_SEC = 86_400;

interface ShownCamera {
  id: string;
  name: string;
  /** Where its video comes from, with no secret in it. */
  from: string;
}

async function signedPlaylists(running: RunningCamrelay, cameras: ShownCamera[]): Promise<string[]> {
  const exp = Math.floor(Date.now() / 1000) + DEMO_LINK_TTL_SEC;
  return Promise.all(
    cameras.map(async (camera) => {
      const query = new URLSearchParams({
        ...(await running.signer.sign({ cameraId: camera.id, exp })),
      });
      return `${running.url}/hls/${camera.id}/index.m3u8?${query}`;
    }),
  );
}

function printBanner(
  running: RunningCamrelay,
  cameras: ShownCamera[],
  playlists: string[],
  token?: string,
): void {
  const base = running.url;
  const auth = `-H 'authorization: Bearer ${token}'`;
  const lines = [
    '',
    'camrelay demo is running. Ctrl-C stops it.',
    '',
    `  video wall   ${base}/wall   (sign in with the admin token)`,
    `  admin token  ${token}`,
    '               (every API call needs it: as a bearer token, or sign in with POST /api/v1/session)',
    `  API          curl ${auth} ${base}/api/v1/cameras`,
    `  health       curl ${auth} ${base}/api/v1/health`,
    `  API docs     ${base}/docs`,
    '',
    '  cameras: signed playlist links, valid 24 h (open in VLC or Safari, or: ffplay "<link>")',
    ...cameras.flatMap((camera, i) => [`    ${camera.name}, from ${camera.from}`, `      ${playlists[i]}`]),
    '',
    `  a fresh link: curl ${auth} ${base}/api/v1/cameras/${cameras[0]?.id}/stream`,
    `  your own push camera (OBS, ffmpeg): curl ${auth} -H 'content-type: application/json' \\`,
    `    -d '{"name":"My encoder","source":"push"}' ${base}/api/v1/cameras   (the answer's publishUrl)`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
