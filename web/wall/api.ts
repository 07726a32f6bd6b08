/** The relay's API as the wall uses it: same origin, the session cookie carries the credential. */

export interface CameraInfo {
  id: string;
  name: string;
  enabled: boolean;
  tags?: string[];
}

export interface LayoutInfo {
  name: string;
  grid: number;
  cameras: Array<string | null>;
}

export interface HealthInfo {
  status: string;
  since: string;
  lastError: string | null;
}

export class Unauthenticated extends Error {}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: init.body ? { 'content-type': 'application/json' } : {},
  });
  if (response.status === 401) throw new Unauthenticated();
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `${response.status} ${response.statusText}`);
  }
  return (response.status === 204 ? null : await response.json()) as T;
}

export const api = {
  session: () => call<{ role: string }>('/api/v1/session'),
  signIn: (token: string) => call('/api/v1/session', { method: 'POST', body: JSON.stringify({ token }) }),
  async cameras(): Promise<CameraInfo[]> {
    const all: CameraInfo[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await call<{ items: CameraInfo[]; nextCursor: string | null }>(
        `/api/v1/cameras?limit=1000${query}`,
      );
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  },
  layouts: async () => (await call<{ items: LayoutInfo[] }>('/api/v1/layouts')).items,
  layout: (name: string) => call<LayoutInfo>(`/api/v1/layouts/${encodeURIComponent(name)}`),
  saveLayout: (layout: LayoutInfo) =>
    call<LayoutInfo>(`/api/v1/layouts/${encodeURIComponent(layout.name)}`, {
      method: 'PUT',
      body: JSON.stringify({ grid: layout.grid, cameras: layout.cameras }),
    }),
  streamUrl: async (id: string) =>
    (await call<{ url: string }>(`/api/v1/cameras/${encodeURIComponent(id)}/stream`)).url,
  /** Up to 100 cameras' health in one call. */
  async healthMany(ids: string[]): Promise<Map<string, HealthInfo>> {
    if (ids.length === 0) return new Map();
    const { items } = await call<{ items: Array<HealthInfo & { cameraId: string }> }>(
      `/api/v1/health/cameras?ids=${ids.map(encodeURIComponent).join(',')}`,
    );
    return new Map(items.map((item) => [item.cameraId, item]));
  },
  snapshotUrl: (id: string) => `/api/v1/cameras/${encodeURIComponent(id)}/snapshot.jpg?t=${Date.now()}`,
};
