import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

const HLS_JS = fileURLToPath(new URL('../../node_modules/hls.js/dist/hls.min.js', import.meta.url));

/**
 * A bare player page on the relay's own origin (served by playwright, so the relay's CSP and CORS stay as
 * they are): `firstFrameAtMs(url, config)` plays a playlist with hls.js and resolves with the wall-clock time
 * of the first decoded frame. A playlist that is not there yet (404) is asked for again every 250 ms, as a
 * wall tile would.
 */
export async function openFirstFramePage(browser: Browser, origin: string): Promise<Page> {
  const page = await browser.newPage();
  const hlsJs = await readFile(HLS_JS);
  await page.route(`${origin}/bench/hls.js`, (route) =>
    route.fulfill({ body: hlsJs, contentType: 'application/javascript' }),
  );
  await page.route(`${origin}/bench/player.html`, (route) =>
    route.fulfill({ body: PAGE, contentType: 'text/html' }),
  );
  await page.goto(`${origin}/bench/player.html`);
  return page;
}

export function firstFrameAtMs(page: Page, url: string, config: object, timeoutMs = 30_000): Promise<number> {
  return page.evaluate(
    ({ url, config, timeoutMs }) => (globalThis as unknown as BenchWindow).firstFrame(url, config, timeoutMs),
    { url, config, timeoutMs },
  );
}

interface BenchWindow {
  firstFrame(url: string, config: object, timeoutMs: number): Promise<number>;
}

const PAGE = `<!doctype html><meta charset="utf-8"><script src="/bench/hls.js"></script>
<body><script>
window.firstFrame = (url, config, timeoutMs) => new Promise((resolve, reject) => {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.replaceChildren(video);
  let hls = null;
  const deadline = setTimeout(() => { hls?.destroy(); reject(new Error('no frame within ' + timeoutMs + ' ms')); }, timeoutMs);
  video.requestVideoFrameCallback(() => {
    const at = Date.now();
    clearTimeout(deadline);
    hls?.destroy();
    resolve(at);
  });
  const load = () => {
    hls?.destroy();
    hls = new Hls(config);
    hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) setTimeout(load, 250); });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
  };
  load();
});
</script></body>`;
