import { api, type CameraInfo, type LayoutInfo, Unauthenticated } from './api.js';
import { followStatus } from './status-feed.js';
import { Tile } from './tile.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the wall shows now: a grid and a camera (or nothing) per tile. */
const state: { grid: number; cameras: Array<string | null>; selected: number } = {
  grid: 4,
  cameras: [],
  selected: 0,
};
let cameraList: CameraInfo[] = [];
/** Search results shown at once: each brings a thumbnail, and the API's rate limit is per credential. */
const PICKER_MAX = 24;
const tiles = new Map<number, Tile>();

async function signedIn(): Promise<void> {
  try {
    await api.session();
  } catch (err) {
    if (!(err instanceof Unauthenticated)) throw err;
    await signIn();
  }
}

function signIn(): Promise<void> {
  const dialog = $<HTMLDialogElement>('sign-in');
  dialog.showModal();
  return new Promise((resolve) => {
    $('sign-in-form').addEventListener('submit', async function submit(event) {
      event.preventDefault();
      try {
        await api.signIn($<HTMLInputElement>('sign-in-token').value.trim());
        dialog.close();
        this.removeEventListener('submit', submit);
        resolve();
      } catch (err) {
        $('sign-in-error').textContent = (err as Error).message;
      }
    });
  });
}

function say(text: string): void {
  $('message').textContent = text;
}

/** Lays out the grid; tiles whose camera stays in place keep playing. */
function render(): void {
  const grid = $('grid');
  const side = Math.sqrt(state.grid);
  grid.style.gridTemplateColumns = `repeat(${side}, 1fr)`;
  const children: HTMLElement[] = [];
  const added: Tile[] = [];
  for (let i = 0; i < state.grid; i++) {
    const cameraId = state.cameras[i] ?? null;
    let tile = tiles.get(i);
    if (tile && tile.cameraId !== cameraId) {
      tile.destroy();
      tiles.delete(i);
      tile = undefined;
    }
    if (cameraId && !tile) {
      const camera = cameraList.find((c) => c.id === cameraId);
      tile = new Tile(cameraId, camera?.name ?? `${cameraId} (deleted)`);
      tiles.set(i, tile);
      added.push(tile);
    }
    children.push(tile?.element ?? emptyTile(i));
  }
  for (const [i, tile] of tiles) {
    if (i < state.grid) continue;
    tile.destroy();
    tiles.delete(i);
  }
  grid.replaceChildren(...children);
  void showStatus(added);
  children.forEach((element, i) => {
    element.onclick = () => toggleEnlarged(element);
    element.onfocus = () => {
      state.selected = i;
    };
  });
}

/** The status of new tiles until the live feed says otherwise. */
async function showStatus(added: Tile[]): Promise<void> {
  const health = await api.healthMany(added.map((tile) => tile.cameraId)).catch(() => new Map());
  for (const tile of added) {
    const h = health.get(tile.cameraId);
    if (h) tile.setStatus(h.status, h.lastError, h.since);
  }
}

function emptyTile(index: number): HTMLElement {
  const element = document.createElement('div');
  element.className = 'tile empty';
  element.tabIndex = 0;
  element.textContent = `Tile ${index + 1}: choose a camera`;
  return element;
}

function toggleEnlarged(element: HTMLElement): void {
  const enlarged = !element.classList.contains('enlarged');
  for (const other of $('grid').children) other.classList.remove('enlarged');
  element.classList.toggle('enlarged', enlarged);
}

/** Arrow keys move between tiles, Enter enlarges, Escape returns. */
function onKey(event: KeyboardEvent): void {
  if ((event.target as HTMLElement).closest('input, select, dialog, .picker')) return;
  const side = Math.sqrt(state.grid);
  const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -side, ArrowDown: side };
  const children = [...$('grid').children] as HTMLElement[];
  if (event.key in moves) {
    const next = Math.min(state.grid - 1, Math.max(0, state.selected + (moves[event.key] as number)));
    children[next]?.focus();
    event.preventDefault();
  } else if (event.key === 'Enter') toggleEnlarged(children[state.selected] as HTMLElement);
  else if (event.key === 'Escape') for (const child of children) child.classList.remove('enlarged');
}

function renderPicker(): void {
  const query = $<HTMLInputElement>('picker-search').value.trim().toLowerCase();
  const list = $('picker-list');
  const matches = cameraList
    .filter((c) => `${c.name} ${c.id} ${(c.tags ?? []).join(' ')}`.toLowerCase().includes(query))
    .slice(0, PICKER_MAX);
  void api.healthMany(matches.map((c) => c.id)).then(
    (health) => {
      for (const item of list.querySelectorAll<HTMLElement>('[data-camera]')) {
        const status = health.get(item.dataset.camera ?? '')?.status ?? 'unknown';
        (item.querySelector('.status') as HTMLElement).textContent = status;
        item.dataset.status = status;
      }
    },
    () => undefined,
  );
  list.replaceChildren(
    ...matches.map((camera) => {
      const item = document.createElement('div');
      item.setAttribute('role', 'option');
      item.tabIndex = 0;
      const thumb = document.createElement('img');
      thumb.alt = '';
      thumb.loading = 'lazy';
      thumb.src = api.snapshotUrl(camera.id);
      const name = document.createElement('span');
      name.textContent = camera.name;
      const status = document.createElement('small');
      status.className = 'status';
      const text = document.createElement('span');
      text.append(name, document.createElement('br'), status);
      item.dataset.camera = camera.id;
      item.append(thumb, text);
      const choose = () => {
        state.cameras[state.selected] = camera.id;
        render();
      };
      item.onclick = choose;
      item.onkeydown = (event) => event.key === 'Enter' && choose();
      return item;
    }),
  );
}

async function loadLayout(name: string): Promise<void> {
  const layout = await api.layout(name);
  state.grid = layout.grid;
  state.cameras = [...layout.cameras];
  $<HTMLSelectElement>('grid-select').value = String(layout.grid);
  $<HTMLSelectElement>('layout-select').value = name;
  render();
}

async function saveLayout(): Promise<void> {
  const name = window.prompt('Save this layout as (lower-case letters, digits, - and _):');
  if (!name) return;
  const layout: LayoutInfo = { name, grid: state.grid, cameras: state.cameras.slice(0, state.grid) };
  try {
    await api.saveLayout(layout);
    say(`saved as ${name}`);
    await fillLayouts();
    $<HTMLSelectElement>('layout-select').value = name;
  } catch (err) {
    say((err as Error).message);
  }
}

async function fillLayouts(): Promise<void> {
  const select = $<HTMLSelectElement>('layout-select');
  const options = (await api.layouts()).map((layout) => new Option(layout.name, layout.name));
  select.replaceChildren(new Option('(unsaved)', ''), ...options);
}

function wireControls(): void {
  $<HTMLSelectElement>('grid-select').onchange = (event) => {
    state.grid = Number((event.target as HTMLSelectElement).value);
    render();
  };
  $<HTMLSelectElement>('layout-select').onchange = (event) => {
    const name = (event.target as HTMLSelectElement).value;
    if (name) void loadLayout(name).catch((err: Error) => say(err.message));
  };
  $('save-layout').onclick = () => void saveLayout();
  $('toggle-picker').onclick = () => {
    const picker = $('picker');
    picker.hidden = !picker.hidden;
    $('toggle-picker').setAttribute('aria-expanded', String(!picker.hidden));
    if (!picker.hidden) renderPicker();
  };
  $('picker-search').oninput = renderPicker;
  document.addEventListener('keydown', onKey);
}

async function start(): Promise<void> {
  await signedIn();
  cameraList = await api.cameras();
  wireControls();
  followStatus((change) => {
    for (const tile of tiles.values()) {
      if (tile.cameraId === change.cameraId) tile.setStatus(change.to, change.reason, change.at);
    }
  });
  await fillLayouts();
  const deepLink = new URLSearchParams(window.location.search).get('layout');
  if (deepLink) {
    document.body.classList.add('full');
    await loadLayout(deepLink);
  } else {
    state.cameras = cameraList.slice(0, state.grid).map((c) => c.id);
    render();
  }
}

start().catch((err: Error) => say(err.message));
